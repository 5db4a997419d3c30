"""Alembic migrations of Membrane's schema, and the helpers that run them programmatically."""
