"""Tasks: assigned work with a due date and a small state machine."""
