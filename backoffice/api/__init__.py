"""REST API ``/api/v1``: JSON over the core services, Bearer tokens, OpenAPI."""

from backoffice.api.app import create_api
from backoffice.api.deps import ApiContext

__all__ = ["ApiContext", "create_api"]
