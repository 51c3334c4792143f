"""An employee's events and tasks for a calendar subscription (iCalendar), behind a
secret, rotatable token."""
