"""Numbers from people: absurd magnitudes are refused as bad input, never a crash."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_core.catalog.common import to_decimal
from crm_core.errors import ValidationFailed


@pytest.mark.parametrize("value", ["1e400", "-1E+40", Decimal("1E+28"), "99999999999999.99"])
def test_too_large_is_a_validation_error(value):
    with pytest.raises(ValidationFailed, match="too large"):
        to_decimal(value, field="quantity", places=3)


def test_ordinary_values_pass():
    assert to_decimal("12.5", field="price", places=2) == Decimal("12.5")
    with pytest.raises(ValidationFailed, match="decimal places"):
        to_decimal("1.005", field="price", places=2)
