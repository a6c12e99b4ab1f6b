"""Fixtures for the customers plugin: a tenant with it enabled, staff in an org tree, and an
API client acting for each of them."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ApiClient, TenantFixture, fetch_token

PASSWORD = "Correct-horse-42"


@dataclass
class Staff:
    user_id: str
    email: str
    api: ApiClient


@dataclass
class Firm:
    tenant: TenantFixture
    units: dict[str, str]
    staff: dict[str, Staff]


def add_staff(
    app: Flask, client: FlaskClient, tenant: TenantFixture, name: str, roles: list[str], unit: str
) -> Staff:
    from loandesk.auth import clients, users
    from loandesk.tenancy import service, use

    email = f"{name}@{tenant.slug}.example.cn"
    ext = app.extensions["loandesk"]
    with app.app_context(), ext.db.transaction() as session:
        with use(service.get_by_slug(session, tenant.slug).ref()):
            user = users.create_user(
                session,
                email=email,
                display_name=name,
                password=PASSWORD,
                roles=roles,
                org_unit_id=uuid.UUID(unit),
            ).user
            new = clients.create_client(
                session,
                tenant_id=uuid.UUID(tenant.id),
                name=f"{name}'s client",
                scopes=["records:read", "records:write"],
                created_by_id=None,
                acts_as_id=user.id,
            )
            user_id, client_id, secret = str(user.id), new.client.client_id, new.client_secret
    token = fetch_token(client, client_id, secret).get_json()["access_token"]
    return Staff(user_id, email, ApiClient(client, token))


@pytest.fixture
def firm(app: Flask, client: FlaskClient, tenant_a: TenantFixture, api_a: ApiClient) -> Firm:
    """Tenant A with customers enabled; company → 华东分公司 → 一组 / 二组, and staff:
    two credit officers in 一组 and one in 二组, a collector, an auditor, a risk manager
    heading the branch, and a finance clerk."""
    assert api_a.put("/plugins/customers", json={"enabled": True}).status_code == 200
    company = api_a.get("/org-units").get_json()["items"][0]["id"]
    branch = api_a.post(
        "/org-units", json={"parent_id": company, "name": "华东分公司", "kind": "branch"}
    ).get_json()["id"]
    team1 = api_a.post(
        "/org-units", json={"parent_id": branch, "name": "一组", "kind": "team"}
    ).get_json()["id"]
    team2 = api_a.post(
        "/org-units", json={"parent_id": branch, "name": "二组", "kind": "team"}
    ).get_json()["id"]
    units = {"company": company, "branch": branch, "team1": team1, "team2": team2}
    people = {
        "officer1": (["credit_officer"], team1),
        "officer2": (["credit_officer"], team1),
        "officer3": (["credit_officer"], team2),
        "collector": (["collector"], team1),
        "auditor": (["auditor"], company),
        "risk": (["risk_manager"], branch),
        "finance": (["finance"], company),
    }
    staff = {
        name: add_staff(client.application, client, tenant_a, name, roles, unit)
        for name, (roles, unit) in people.items()
    }
    return Firm(tenant_a, units, staff)


_made = itertools.count()


@pytest.fixture(autouse=True)
def _fresh_id_numbers() -> None:
    """Each test's first ``new_customer`` has the number ``11010519491231002X``."""
    global _made
    _made = itertools.count()


def id_number(sequence: int) -> str:
    """A valid resident ID number (a tenant holds each once): 110105 19491231 and an order
    code; ``id_number(0)`` is ``11010519491231002X``."""
    from stdnum.cn import ric

    head = f"11010519491231{(2 + 2 * sequence) % 1000:03d}"
    return head + ric.calc_check_digit(head + "0")  # it reads the first 17 characters


def new_customer(api: ApiClient, **values: str) -> dict[str, object]:
    body = {
        "name": "张三丰",
        "mobile": "13800138000",
        "id_number": id_number(next(_made)),
        "monthly_income": "8500.00",
        **values,
    }
    response = api.post("/customers", json=body)
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def audit_events(app: Flask, firm: Firm, action: str) -> list[Any]:
    """The tenant's audit events of ``action``, oldest first."""
    from sqlalchemy import select

    from loandesk.audit.models import AuditEvent
    from loandesk.tenancy import service, use

    ext = app.extensions["loandesk"]
    with app.app_context(), ext.db.transaction() as session:
        with use(service.get_by_slug(session, firm.tenant.slug).ref()):
            rows = session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            ).all()
            session.expunge_all()
            return list(rows)


def legacy_id_number(app: Flask, firm: Firm, customer_id: Any, number: str) -> None:
    """Give a customer ``number`` straight in the database, as a record made before the rule
    (or imported by an old version) would hold it."""
    from loandesk_customers.models import Customer

    from loandesk.pii import Keyring
    from tests.helpers import tenant_session

    with tenant_session(app, firm.tenant.slug) as session:
        keys = Keyring(session, master_key=app.extensions["loandesk"].settings.master_key)
        customer = session.get(Customer, (uuid.UUID(firm.tenant.id), uuid.UUID(customer_id)))
        customer.set_personal("id_number", number, keys=keys)
