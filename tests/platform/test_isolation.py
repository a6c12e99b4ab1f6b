"""Acceptance: with tenant B's token, tenant A's objects are invisible, through the ORM filter
and, on PostgreSQL, through row-level security alone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import event, select, text, update

from loandesk.auth.models import User
from loandesk.tenancy import guard, service, use
from tests.helpers import ApiClient, make_tenant


def _user_row(app: Flask, tenant_slug: str, user_id: str) -> tuple[str, str, bool, str]:
    ext = app.extensions["loandesk"]
    with app.app_context(), ext.db.transaction() as session:
        tenant = service.get_by_slug(session, tenant_slug)
        with use(tenant.ref()):
            user = session.scalar(select(User).where(User.id == uuid.UUID(user_id)))
            assert user is not None
            return user.display_name, user.status, user.is_admin, user.email


@pytest.fixture(
    params=["orm-filter-on", pytest.param("orm-filter-off", marks=pytest.mark.postgresql)]
)
def orm_filter(request: pytest.FixtureRequest, app: Flask) -> Iterator[str]:
    """On PostgreSQL the test runs a second time with the ORM's tenant filter switched off:
    then row-level security alone must keep tenant A's rows out of tenant B's reach."""
    session_factory = app.extensions["loandesk"].db.session_factory
    if request.param == "orm-filter-on":
        yield request.param
        return
    event.remove(session_factory, "do_orm_execute", guard.filter_tenant_owned)
    try:
        yield request.param
    finally:
        event.listen(session_factory, "do_orm_execute", guard.filter_tenant_owned)


def test_tenant_b_cannot_see_or_touch_tenant_a_users(app: Flask, client, orm_filter: str) -> None:
    # Both firms sign up through the API; B's token comes from B's own API client.
    firm_a, firm_b = make_tenant(app, "firm-a"), make_tenant(app, "firm-b")
    api_b = ApiClient(client, firm_b.token)
    a_user_id = firm_a.admin_user_id
    before = _user_row(app, "firm-a", a_user_id)

    listed = api_b.get("/users").get_json()
    assert [u["id"] for u in listed["items"]] == [firm_b.admin_user_id]
    assert listed["total"] == 1
    for response in (
        api_b.get(f"/users/{a_user_id}"),
        api_b.patch(f"/users/{a_user_id}", json={"display_name": "hijacked", "is_admin": False}),
        api_b.delete(f"/users/{a_user_id}"),
    ):
        assert response.status_code == 404
        assert response.get_json()["code"] == "not_found"
    assert _user_row(app, "firm-a", a_user_id) == before


@pytest.mark.postgresql
def test_row_level_security_alone_hides_other_tenants(app: Flask, tenant_a, tenant_b) -> None:
    """The ORM's automatic filter is switched off for this test: only RLS stands."""
    db = app.extensions["loandesk"].db
    assert db.dialect == "postgresql"
    event.remove(db.session_factory, "do_orm_execute", guard.filter_tenant_owned)
    try:
        with app.app_context(), db.transaction() as session:
            b = service.get_by_slug(session, tenant_b.slug)
        with use(b.ref()), db.transaction() as session:
            emails = set(session.scalars(select(User.email)))
            assert emails == {tenant_b.admin_email}
            raw = session.execute(text("select count(*) from users")).scalar_one()
            assert raw == 1
            changed = session.execute(
                update(User)
                .where(User.id == uuid.UUID(tenant_a.admin_user_id))
                .values(display_name="hijacked")
                .execution_options(synchronize_session=False)
            )
            assert changed.rowcount == 0
            with pytest.raises(Exception, match="row-level security"):
                with session.begin_nested():
                    session.execute(
                        text(
                            "insert into users (tenant_id, id, email, display_name, "
                            "status, failed_logins, created_at, updated_at) values "
                            "(:t, :i, 'x@x.cn', 'x', 'active', 0, now(), now())"
                        ),
                        {"t": tenant_a.id, "i": uuid.uuid4()},
                    )
        # Without any tenant, RLS shows nothing at all.
        with db.transaction() as session:
            assert session.execute(text("select count(*) from users")).scalar_one() == 0
    finally:
        event.listen(db.session_factory, "do_orm_execute", guard.filter_tenant_owned)
    assert _user_row(app, tenant_a.slug, tenant_a.admin_user_id)[0] != "hijacked"


@pytest.mark.postgresql
def test_app_role_is_neither_owner_nor_superuser(app: Flask, database_urls) -> None:
    from loandesk.db import Base, TenantOwned, is_tenant_owned
    from loandesk.tenancy import rls

    db = app.extensions["loandesk"].db
    with db.engine.connect() as c:
        role = c.execute(
            text("select rolsuper, rolbypassrls from pg_roles where rolname = current_user")
        ).one()
        assert tuple(role) == (False, False)
        owners = set(
            c.execute(
                text("select tableowner from pg_tables where schemaname = 'public'")
            ).scalars()
        )
        assert database_urls.app_role not in owners
        tenant_owned = [
            m.local_table.name for m in Base.registry.mappers if is_tenant_owned(m.class_)
        ]
        assert tenant_owned and issubclass(User, TenantOwned)
        assert rls.unprotected_tables(c, tenant_owned) == []
