"""Authentication and principals: Membrane's signing keys, the access tokens it issues and checks,
and the principal a request acts as. Never imports `api`.
"""
