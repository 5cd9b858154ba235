"""Web routes, one module per area of work; every route is listed in access/policy.toml."""
