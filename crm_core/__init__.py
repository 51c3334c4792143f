"""Firma's core: the domain model, the use cases as service functions, the outbox.

Imports no sibling package; every door (bot, forms, API, office, channels) calls in here.
"""
