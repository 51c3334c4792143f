"""Firma's composition root: settings, the CLI, the ASGI app and the worker."""
