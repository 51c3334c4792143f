"""The manager back office ``/office``: server-rendered pages over the core services."""

from backoffice.office.app import create_office
from backoffice.office.context import OfficeContext

__all__ = ["OfficeContext", "create_office"]
