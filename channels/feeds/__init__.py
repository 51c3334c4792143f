"""Catalog feeds for marketplaces and ad systems: YML (Yandex Market Language)."""
