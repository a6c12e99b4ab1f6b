# ruff: noqa: F811  (fixtures imported from the customers and flows tests are used by name)
"""Fixtures for the report engine: the flows ``desk`` (customers and intake enabled, the
firm's staff in 华东分公司 → 一组 / 二组) with applications of several statuses, units and
months written straight to the table, and API clients with ``reports:read`` acting for
staff members."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import bindparam, text
from sqlalchemy.types import Uuid

from tests.helpers import ApiClient, fetch_token
from tests.platform.flows.conftest import Desk, desk  # noqa: F401
from tests.plugins.customers.conftest import firm  # noqa: F401

# (owner, unit, status, amount, term, created UTC); 2026-01-31 17:30 UTC is already
# 1 February in Beijing, so it counts in February there.
SEED = (
    ("officer1", "team1", "approved", "10000.00", 12, datetime(2026, 1, 5, 2, 0, tzinfo=UTC)),
    ("officer1", "team1", "rejected", "2500.50", 6, datetime(2026, 1, 20, 9, 0, tzinfo=UTC)),
    ("officer1", "team1", "approved", "30000.00", 24, datetime(2026, 1, 31, 17, 30, tzinfo=UTC)),
    ("officer1", "team1", "submitted", "1200.00", 3, datetime(2026, 2, 14, 1, 0, tzinfo=UTC)),
    ("officer2", "team1", "approved", "50000.00", 36, datetime(2026, 2, 2, 3, 0, tzinfo=UTC)),
    ("officer2", "team1", "draft", "800.00", 12, datetime(2026, 3, 9, 6, 0, tzinfo=UTC)),
    ("officer3", "team2", "rejected", "7777.77", 12, datetime(2026, 1, 8, 8, 0, tzinfo=UTC)),
    ("officer3", "team2", "rejected", "4000.00", 18, datetime(2026, 3, 1, 15, 59, tzinfo=UTC)),
    ("officer3", "team2", "approved", "12345.67", 9, datetime(2026, 3, 1, 16, 1, tzinfo=UTC)),
    ("finance", "company", "approved", "99999.99", 60, datetime(2026, 2, 28, 23, 0, tzinfo=UTC)),
    ("finance", "company", "withdrawn", "300.00", 1, datetime(2026, 3, 30, 12, 0, tzinfo=UTC)),
)


@dataclass
class Books:
    desk: Desk
    api: dict[str, ApiClient]  # reports:read clients acting for staff, by name

    def sql(self, statement: str, **params: Any) -> list[tuple[Any, ...]]:
        """A hand-written query over tenant A (``:tenant`` bound to its id)."""
        with self.desk.session() as session:
            query = text(statement).bindparams(bindparam("tenant", type_=Uuid))
            tenant = uuid.UUID(self.desk.firm.tenant.id)
            return [tuple(r) for r in session.execute(query, {"tenant": tenant, **params})]

    def add(self, rows: Sequence[tuple[str, str, str, str, int, datetime]]) -> None:
        """Applications (owner, unit, status, amount, term, created) written to the table."""
        from loandesk_intake.models import Application

        desk = self.desk
        customers = [uuid.UUID(desk.customer_of(name)) for name in ("officer1", "officer3")]
        with desk.session() as session:
            start = session.scalar(text("SELECT count(*) FROM intake_applications")) or 0
            for number, (owner, unit, status, amount, term, created) in enumerate(rows, start + 1):
                session.add(
                    Application(
                        number=f"SQ{number:06d}",
                        customer_id=customers[number % 2],
                        amount=Decimal(amount),
                        term_months=term,
                        status=status,
                        owner_id=desk.user(owner),
                        org_unit_id=uuid.UUID(desk.firm.units[unit]),
                        created_at=created,
                        submitted_at=created if status != "draft" else None,
                    )
                )

    @property
    def dialect(self) -> str:
        with self.desk.session() as session:
            return session.get_bind().dialect.name


def reports_client(
    app: Flask,
    client: FlaskClient,
    slug: str,
    tenant_id: str,
    user_id: str,
    scopes: Sequence[str] = ("reports:read",),
) -> ApiClient:
    from loandesk.auth import clients
    from loandesk.tenancy import service, use

    ext = app.extensions["loandesk"]
    with app.app_context(), ext.db.transaction() as session:
        with use(service.get_by_slug(session, slug).ref()):
            new = clients.create_client(
                session,
                tenant_id=uuid.UUID(tenant_id),
                name=f"reports for {user_id}",
                scopes=list(scopes),
                created_by_id=None,
                acts_as_id=uuid.UUID(user_id),
            )
            client_id, secret = new.client.client_id, new.client_secret
    token = fetch_token(client, client_id, secret).get_json()["access_token"]
    return ApiClient(client, token)


@pytest.fixture
def books(desk: Desk, app: Flask, client: FlaskClient) -> Books:
    firm = desk.firm
    api = {
        name: reports_client(
            app, client, firm.tenant.slug, firm.tenant.id, firm.staff[name].user_id
        )
        for name in ("officer1", "officer3", "risk", "finance", "auditor")
    }
    found = Books(desk, api)
    found.add(SEED)
    return found


WRITE_SCOPES = ("reports:read", "reports:write")


@pytest.fixture
def staff(books: Books, app: Flask, client: FlaskClient) -> dict[str, ApiClient]:
    """Clients with ``reports:read`` and ``reports:write`` acting for the firm's staff."""
    firm = books.desk.firm
    return {
        name: reports_client(
            app, client, firm.tenant.slug, firm.tenant.id, firm.staff[name].user_id, WRITE_SCOPES
        )
        for name in ("officer1", "officer3", "risk", "finance", "auditor")
    }
