"""Tenants, organizations and users: who exists in a deployment and to which company they belong.

Never imports `api`.
"""
