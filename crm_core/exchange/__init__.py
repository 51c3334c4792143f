"""Catalog exchange with accounting systems (1C): records, import, settings, log."""
