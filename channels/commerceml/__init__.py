"""CommerceML 2: the exchange format of 1C and Russian store engines."""

from channels.commerceml.reader import UnsafeXML, read_catalog

__all__ = ["UnsafeXML", "read_catalog"]
