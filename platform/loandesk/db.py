"""Database foundations: engine and session, ``Base``, the ``TenantOwned`` mixin, UUIDv7 ids,
and the column types every module uses for money and time (DESIGN §2, §5)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    MetaData,
    Uuid,
    create_engine,
    event,
)
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    scoped_session,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names, so that migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


_uuid7_lock = threading.Lock()
_uuid7_last = [0]


def uuid7() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits.

    Time-ordered, so B-tree inserts stay local; random enough to be unguessable in practice.
    Within a process each id is greater than the one before (RFC 9562 §6.2, method 3), so
    ids order events emitted in the same millisecond too.
    """
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)  # rand_b, 62 bits
    with _uuid7_lock:
        if value <= _uuid7_last[0]:
            # same millisecond (or a clock step back): count up from the last id's random part
            value = _uuid7_last[0] + 1
        _uuid7_last[0] = value
    return uuid.UUID(int=value)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column; use an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """A ``Decimal`` amount stored as integer minor units (分 for CNY).

    A value with more decimal places than the currency has is refused, never rounded here:
    rounding is a product rule and belongs to the code that computes the amount. Floats are
    refused outright.
    """

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.scale = scale

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return to_minor_units(value, self.scale)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return from_minor_units(value, self.scale)


def to_minor_units(amount: Decimal | int, scale: int = 2) -> int:
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise TypeError(f"money must be Decimal or int, not {type(amount).__name__}")
    minor = Decimal(amount).scaleb(scale)
    if minor != minor.to_integral_value():
        raise ValueError(f"{amount} has more than {scale} decimal places")
    return int(minor)


def from_minor_units(minor: int, scale: int = 2) -> Decimal:
    return Decimal(minor).scaleb(-scale)


class TenantOwned:
    """Mixin for every table that holds a tenant's data.

    The primary key is ``(tenant_id, id)`` and foreign keys to such rows include ``tenant_id``,
    so the database refuses a reference across tenants. Queries are filtered by the current
    tenant automatically (``loandesk.tenancy.guard``), and on PostgreSQL a row-level security
    policy, created by the migration with ``loandesk.tenancy.rls``, is the second wall.
    """

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id"), primary_key=True, sort_order=-20
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7, sort_order=-10)


def is_tenant_owned(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, TenantOwned)


class Database:
    """The engine and the session factory of one app (or one CLI command, job, test)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.engine: Engine = make_engine(url, echo=echo)
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        # One session per thread: a web request, a job or a CLI command. ``remove()`` at the end.
        self.session = scoped_session(self.session_factory)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A fresh session in one transaction: committed on success, rolled back on error."""
        with self.session_factory() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.session.remove()
        self.engine.dispose()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, echo=echo, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
