"""Events (calls, meetings, letters, messages) on employees' calendars, and reminders."""
