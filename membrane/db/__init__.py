"""Database plumbing shared by every domain: declarative base, column types, engines, sessions.

Owns no business rules and never imports `api`.
"""
