"""Shapes of the firm's requisites (``/firm``) in the REST API."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from backoffice.api.schemas_common import InputSchema, Schema

# The service checks digits and lengths of the bank and tax numbers (with the field).
Requisite = Annotated[str | None, Field(max_length=500)]


class FirmOut(Schema):
    name: str = Field(description="as printed on invoices, e.g. ООО «Ромашка»")
    inn: str
    kpp: str
    address: str
    bank: str
    bik: str
    account: str
    corr_account: str
    phone: str
    email: str
    director: str
    accountant: str


class FirmUpdate(InputSchema):
    """Fields left out keep their value; null or "" clears one."""

    name: Requisite = None
    inn: Requisite = Field(None, description="10 digits (company) or 12 (sole trader)")
    kpp: Requisite = Field(None, description="9 digits")
    address: Requisite = None
    bank: Requisite = None
    bik: Requisite = Field(None, description="9 digits")
    account: Requisite = Field(None, description="20 digits")
    corr_account: Requisite = Field(None, description="20 digits")
    phone: Requisite = None
    email: Requisite = None
    director: Requisite = None
    accountant: Requisite = None
