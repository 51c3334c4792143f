"""Employees' calendars as iCalendar feeds: ``GET /calendar/{token}.ics``."""
