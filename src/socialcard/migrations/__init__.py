"""Alembic migrations (one chain for the whole platform)."""
