"""Declarative base and the column types every model shares."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, Numeric, String, TypeDecorator
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSON that is JSONB on PostgreSQL (indexable, compact) and TEXT JSON on SQLite.
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")
# 64-bit ids on PostgreSQL where rows pile up (outbox, history); SQLite's INTEGER
# PRIMARY KEY must stay INTEGER to be the rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")

Money = Annotated[Decimal, mapped_column(Numeric(15, 2))]
Quantity = Annotated[Decimal, mapped_column(Numeric(15, 3))]
Str50 = Annotated[str, mapped_column(String(50))]
Str200 = Annotated[str, mapped_column(String(200))]


def str_enum(enum_cls: type[enum.Enum], length: int = 20) -> SAEnum:
    """Store a StrEnum by its value as VARCHAR (no native enum: states evolve)."""
    return SAEnum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {
        datetime: UTCDateTime(),
        Decimal: Numeric(15, 2),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }
