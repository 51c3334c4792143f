"""Bringing customers and products in from files (CSV, XLSX, vCard, parsed by the
channel) row by row, de-duplicated through the core, and getting them out again."""
