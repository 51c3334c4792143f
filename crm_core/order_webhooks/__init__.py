"""Stores that push their orders as signed JSON: the sources (one secret each) and the
intake of one order (customer de-duplicated, lines by SKU, idempotent by store id)."""
