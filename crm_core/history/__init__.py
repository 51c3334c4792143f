"""The change history of leads, customers, orders, events and tasks.

Recorded automatically: a flush listener compares every tracked object's columns
with what they were and writes one ``history`` row per changed object, in the same
transaction, with the actor the entry point put on the session. No service can
forget to record a change, and no door can write around it.
"""

from crm_core.history.recorder import TRACKED, list_history

__all__ = ["TRACKED", "list_history"]
