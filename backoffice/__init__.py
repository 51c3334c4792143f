"""The staff side over HTTP: the REST API (``backoffice.api``) and the back office."""
