"""Small async factories for test data, one module per area."""
