"""Lands with its issue."""
