"""The auditors' API: audit events, their root field and its filters."""
