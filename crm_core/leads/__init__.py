"""Leads: intake with de-duplication, the kanban states, conversion and hiding."""
