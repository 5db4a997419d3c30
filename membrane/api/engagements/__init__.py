"""GraphQL types, queries, mutations and loaders of engagements and their content."""
