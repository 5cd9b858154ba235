"""API routes, one module per business area."""
