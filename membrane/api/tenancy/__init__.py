"""GraphQL types and loaders of tenants, organizations and users."""
