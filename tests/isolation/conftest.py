"""Fixtures for the isolation suite: one app and one populated tenant A per module (building
A's objects through the API costs seconds; each generated test only reads or tries to change
them), tenant B with every plugin enabled, and tenant A's staff member who holds no permission.

The suite's own ``app`` fixture is per test and empties the tables after it; this module-scoped
app (``tests.conftest.suite_app``, like it) does the same when the module is done."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import DatabaseUrls, suite_app, suite_settings
from tests.helpers import ApiClient, TenantFixture, fetch_token, make_tenant
from tests.isolation.factories import World, populate

PASSWORD = "Correct-horse-42"


@dataclass
class Firm:
    """A tenant, and API clients acting for its admin (every scope) and for its staff member
    who holds no permission (every scope: the token is not what refuses)."""

    tenant: TenantFixture
    admin: ApiClient
    powerless: ApiClient
    powerless_email: str
    powerless_credentials: tuple[str, str]
    _without: dict[str, ApiClient] = field(default_factory=dict)

    def powerless_without(self, scope: str) -> ApiClient:
        """The powerless staff member's client, with a token of every scope but ``scope``
        (one token per scope: the token endpoint is rate-limited per client)."""
        from loandesk.auth import clients

        if scope not in self._without:
            web = self.powerless.client
            others = " ".join(s for s in clients.SCOPES if s != scope)
            answer = fetch_token(web, *self.powerless_credentials, scope=others)
            assert answer.status_code == 200, answer.get_json()
            self._without[scope] = ApiClient(web, answer.get_json()["access_token"])
        return self._without[scope]


@pytest.fixture(scope="module")
def iso_app(
    database_urls: DatabaseUrls, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    instance = Path(tmp_path_factory.mktemp("isolation")) / "instance"
    with suite_app(suite_settings(database_urls, instance), database_urls) as app:
        yield app


def _acting_client(
    app: Flask, tenant: TenantFixture, user_id: str, name: str
) -> tuple[ApiClient, tuple[str, str]]:
    from loandesk.auth import clients
    from loandesk.tenancy import service, use

    ext = app.extensions["loandesk"]
    with app.app_context(), ext.db.transaction() as session:
        with use(service.get_by_slug(session, tenant.slug).ref()):
            new = clients.create_client(
                session,
                tenant_id=uuid.UUID(tenant.id),
                name=name,
                scopes=list(clients.SCOPES),
                created_by_id=None,
                acts_as_id=uuid.UUID(user_id),
            )
            client_id, secret = new.client.client_id, new.client_secret
    web = app.test_client()
    token = fetch_token(web, client_id, secret).get_json()["access_token"]
    return ApiClient(web, token), (client_id, secret)


def _powerless_user(app: Flask, tenant: TenantFixture) -> tuple[str, str]:
    """A staff member of ``tenant`` holding one role that grants nothing at all."""
    from loandesk.auth import users
    from loandesk.rbac.models import Role
    from loandesk.tenancy import service, use

    email = f"powerless@{tenant.slug}.example.cn"
    ext = app.extensions["loandesk"]
    with app.app_context(), ext.db.transaction() as session:
        with use(service.get_by_slug(session, tenant.slug).ref()):
            session.add(Role(key="nothing", name_zh="无权限", name_en="Nothing", permissions=[]))
            session.flush()
            user = users.create_user(
                session, email=email, display_name="无权限员工", password=PASSWORD,
                roles=["nothing"],
            ).user  # fmt: skip
            return str(user.id), email


def _firm(app: Flask, slug: str) -> Firm:
    tenant = make_tenant(app, slug)
    admin, _ = _acting_client(app, tenant, tenant.admin_user_id, "isolation admin")
    for name in _all_plugins(admin):
        response = admin.put(f"/plugins/{name}", json={"enabled": True})
        if response.status_code == 409 and "enabled" in response.get_json()["errors"]:
            continue  # a second SMS (or other one-of) channel: the first one stays
        assert response.status_code == 200, (name, response.get_json())
    powerless_id, email = _powerless_user(app, tenant)
    powerless, credentials = _acting_client(app, tenant, powerless_id, "isolation powerless")
    return Firm(tenant, admin, powerless, email, credentials)


def _all_plugins(api: ApiClient) -> list[str]:
    """Every installed plugin, dependencies first (so each can be enabled in turn)."""
    listed = api.get("/plugins").get_json()
    order: list[str] = []
    by_name = {p["name"]: p for p in listed}

    def visit(name: str) -> None:
        if name in order:
            return
        for dependency in by_name[name].get("depends_on", []):
            visit(dependency)
        order.append(name)

    for name in by_name:
        visit(name)
    return order


@pytest.fixture(scope="module")
def firm_a(iso_app: Flask) -> Firm:
    return _firm(iso_app, "iso-a")


@pytest.fixture(scope="module")
def firm_b(iso_app: Flask) -> Firm:
    return _firm(iso_app, "iso-b")


@pytest.fixture(scope="module")
def world(iso_app: Flask, firm_a: Firm, firm_b: Firm) -> World:
    """Tenant A's objects, made once: a value for every id parameter a factory is registered for."""
    return populate(iso_app, firm_a)


@pytest.fixture(scope="module")
def web_b(iso_app: Flask, firm_b: Firm) -> FlaskClient:
    """A browser signed in to tenant B as its admin."""
    from tests.helpers import web_login

    web = iso_app.test_client()
    response = web_login(web, firm_b.tenant)
    assert response.status_code in (302, 303), response.status_code
    return web


@pytest.fixture(scope="module")
def web_a_powerless(iso_app: Flask, firm_a: Firm) -> FlaskClient:
    """A browser signed in to tenant A as its staff member who holds no permission."""
    from dataclasses import replace

    from tests.helpers import web_login

    web = iso_app.test_client()
    response = web_login(web, replace(firm_a.tenant, admin_email=firm_a.powerless_email))
    assert response.status_code in (302, 303), response.status_code
    return web


@pytest.fixture(scope="module")
def rows_of(
    iso_app: Flask, database_urls: DatabaseUrls
) -> Iterator[Callable[[str], dict[str, str]]]:
    """A digest of each table's rows of a tenant (by id), read past the ORM and past row-level
    security (the test database's owner, or on PostgreSQL its superuser), to compare before
    and after a request."""
    from sqlalchemy import create_engine, text

    from loandesk.db import Base

    url = database_urls.admin_url or database_urls.owner_url
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    tables = [t for t in Base.metadata.sorted_tables if "tenant_id" in t.c]

    def digest(tenant_id: str) -> dict[str, str]:
        with engine.connect() as c:
            if database_urls.backend == "postgresql":
                # one round trip: each table's rows of the tenant as text, hashed in place
                statement = " UNION ALL ".join(
                    f"SELECT '{t.name}', md5(coalesce(string_agg(x::text, ',' ORDER BY "
                    f"x::text), '')) FROM {t.name} x WHERE tenant_id = :tenant"
                    for t in tables
                )
                rows = c.execute(text(statement), {"tenant": tenant_id})
                return {name: value for name, value in rows}
            # one statement too: each table's rows of the tenant, quoted and sorted
            statement = " UNION ALL ".join(
                f"SELECT '{t.name}', (SELECT group_concat(r, ',') FROM (SELECT "
                + " || '|' || ".join(f'quote("{c.name}")' for c in t.c)
                + f" AS r FROM {t.name} WHERE tenant_id = :tenant ORDER BY r))"
                for t in tables
            )
            rows = c.execute(text(statement), {"tenant": uuid.UUID(tenant_id).hex})
            return {
                name: hashlib.sha256((value or "").encode()).hexdigest() for name, value in rows
            }

    yield digest
    engine.dispose()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """About 750 generated cases: slow (not in the quick run before a commit), and in CI only
    in the PostgreSQL pass, where row-level security is a second wall behind the ORM filter
    (the SQLite pass runs the schemathesis run instead; the two passes run side by side)."""
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason="the isolation suite runs in the PostgreSQL pass")
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.slow)
            if config.getoption("--db") == "sqlite" and os.environ.get("CI"):
                item.add_marker(skip)
