"""The channels' part of the REST API (``/api/v1``): payment links and notifications,
order webhook sources, the YML feed token, calendar links, imports and exports.

Included into the ``/api/v1`` application by the composition root (``firma/app.py``),
so the API's token check, error mapping and OpenAPI cover these routes too.
"""
