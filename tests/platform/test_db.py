"""UUIDv7 ids, money in minor units, UTC times, and the tenant guard of the ORM session."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import BigInteger, Column, MetaData, String, Table, select

from loandesk.auth.models import User
from loandesk.db import Money, UTCDateTime, from_minor_units, to_minor_units, uuid7
from loandesk.tenancy import TenantContextMissing, service, use
from loandesk.tenancy.guard import CrossTenantWrite


def test_uuid7_has_version_variant_and_time_order() -> None:
    ids = []
    for _ in range(5):
        ids.append(uuid7())
        time.sleep(0.002)
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in ids)
    assert ids == sorted(ids)
    millis = ids[0].int >> 80
    assert abs(millis - time.time() * 1000) < 60_000
    assert len({uuid7() for _ in range(10_000)}) == 10_000


def test_money_is_exact_minor_units() -> None:
    assert to_minor_units(Decimal("12345.67")) == 1234567
    assert to_minor_units(Decimal("0.10")) == 10 and to_minor_units(3) == 300
    assert from_minor_units(1234567) == Decimal("12345.67")
    with pytest.raises(ValueError, match="decimal places"):
        to_minor_units(Decimal("0.005"))
    with pytest.raises(TypeError):
        to_minor_units(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        to_minor_units(True)  # type: ignore[arg-type]


def test_money_and_utc_round_trip_through_the_database(database_urls) -> None:
    from loandesk.db import Database

    db = Database(database_urls.owner_url)  # the app's role may not create tables
    table = Table(
        "t_money",
        MetaData(),
        Column("k", String(8), primary_key=True),
        Column("amount", Money()),
        Column("at", UTCDateTime()),
    )
    table.create(db.engine)
    try:
        shanghai = timezone(timedelta(hours=8))
        at = datetime(2026, 3, 1, 8, 30, tzinfo=shanghai)
        with db.engine.begin() as c:
            c.execute(table.insert().values(k="a", amount=Decimal("99999999999.99"), at=at))
            row = c.execute(select(table.c.amount, table.c.at)).one()
            stored = c.execute(select(table.c.amount.cast(BigInteger))).scalar_one()
        assert row.amount == Decimal("99999999999.99") and isinstance(row.amount, Decimal)
        assert stored == 9999999999999
        assert row.at == at and row.at.tzinfo is not None and row.at.utcoffset() == timedelta(0)
        with pytest.raises(Exception, match="naive"), db.engine.begin() as c:
            c.execute(table.insert().values(k="b", at=datetime(2026, 1, 1)))
    finally:
        table.drop(db.engine)
        db.dispose()


def test_query_without_a_tenant_raises(app: Flask, tenant_a) -> None:
    db = app.extensions["loandesk"].db
    with db.transaction() as session, pytest.raises(TenantContextMissing):
        session.scalars(select(User)).all()


def test_queries_are_filtered_by_the_current_tenant(app: Flask, tenant_a, tenant_b) -> None:
    db = app.extensions["loandesk"].db
    with app.app_context(), db.transaction() as session:
        a = service.get_by_slug(session, tenant_a.slug).ref()
        b = service.get_by_slug(session, tenant_b.slug).ref()
    with use(a), db.transaction() as session:
        assert session.scalars(select(User.email)).all() == [tenant_a.admin_email]
        # a join through an alias is filtered too
        from sqlalchemy.orm import aliased

        other = aliased(User)
        pairs = session.execute(select(User.id, other.id).join(other, other.id != User.id)).all()
        assert pairs == []
        b_user = session.get(User, (b.id, uuid.UUID(tenant_b.admin_user_id)))
        assert b_user is None


def test_writing_a_row_of_another_tenant_is_refused(app: Flask, tenant_a, tenant_b) -> None:
    db = app.extensions["loandesk"].db
    with app.app_context(), db.transaction() as session:
        b = service.get_by_slug(session, tenant_b.slug)
        a = service.get_by_slug(session, tenant_a.slug).ref()
    with use(a), pytest.raises(CrossTenantWrite), db.transaction() as session:
        session.add(
            User(
                tenant_id=b.id,
                email="x@y.cn",
                display_name="x",
                status="active",
                failed_logins=0,
            )
        )
    with pytest.raises(TenantContextMissing), db.transaction() as session:
        session.add(User(email="x@y.cn", display_name="x", status="active", failed_logins=0))


def test_uuid7_is_strictly_increasing_within_a_process() -> None:
    ids = [uuid7() for _ in range(50_000)]  # many share a millisecond
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in ids[-100:])
