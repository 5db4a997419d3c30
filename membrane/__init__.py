"""Membrane: a self-hosted GraphQL API for the workspace a company shares with its partners.

Domain packages (`tenancy`, `auth`, `engagements`) own the rules and the data; `api` is
transport only and is never imported by the domain packages.
"""

__version__ = "0.1.0"
