"""The tamper-evident audit log: events hash-chained per tenant, checkpoints signed."""
