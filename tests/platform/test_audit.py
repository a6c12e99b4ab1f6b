"""The audit log: who did what, hash-chained; tampering with a row, deleting or reordering
rows is found by ``loandesk audit verify``, which names the row."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import create_engine, select, text

from loandesk.audit.models import AuditEvent
from loandesk.cli import cli
from loandesk.tenancy import service as tenants
from loandesk.tenancy import use
from tests.helpers import ApiClient, csrf_from, web_login


def _env(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "LOANDESK_DATABASE_URL": settings.database_url,
        "LOANDESK_MIGRATION_DATABASE_URL": settings.migration_database_url,
        "LOANDESK_INSTANCE_PATH": str(settings.instance_path),
    }


def _events(app: Flask, slug: str) -> list[AuditEvent]:
    db = app.extensions["loandesk"].db
    with db.transaction() as s:
        ref = tenants.get_by_slug(s, slug).ref()
    with use(ref), db.transaction() as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def _raw(database_urls):  # type: ignore[no-untyped-def]
    # tampering as someone with direct database access (the superuser on PostgreSQL)
    url = database_urls.admin_url or database_urls.owner_url
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://"))


def _verify(settings, slug: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["audit", "verify", "--tenant", slug], env=_env(settings))


def _busy_tenant(client, api_a: ApiClient, tenant_a) -> None:  # type: ignore[no-untyped-def]
    web_login(client, tenant_a, password="Wrong-pass-000")
    web_login(client, tenant_a)
    user = api_a.post(
        "/users", json={"email": "li@a.cn", "display_name": "李四", "password": "Good-pass-123"}
    ).get_json()
    api_a.patch(f"/users/{user['id']}", json={"display_name": "李四四", "is_admin": True})
    api_a.patch(f"/users/{user['id']}", json={"password": "Other-pass-456"})


def test_actions_are_recorded_with_actor_origin_and_diff(
    app: Flask, client, api_a: ApiClient, tenant_a
) -> None:
    _busy_tenant(client, api_a, tenant_a)
    events = _events(app, tenant_a.slug)
    actions = [e.action for e in events]
    assert actions[:3] == ["tenant.create", "user.create", "api_client.create"]
    assert {"api_client.token_issued", "user.sign_in_failed", "user.sign_in", "user.update"} <= set(
        actions
    )
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    failed = next(e for e in events if e.action == "user.sign_in_failed")
    assert failed.actor_kind == "anonymous" and failed.ip == "127.0.0.1"
    assert failed.diff == {"email": tenant_a.admin_email, "reason": "password"}
    updates = [e for e in events if e.action == "user.update"]
    assert updates[0].diff == {"display_name": ["李四", "李四四"], "roles": [[], ["tenant_admin"]]}
    assert updates[0].actor_kind == "api_client" and updates[0].actor_label == "tests"
    assert updates[1].diff == {"password": ["***", "***"]}  # never the password itself
    assert updates[0].request_id and len(updates[0].hash) == 64


def test_verify_passes_untouched_and_names_a_changed_row(
    app: Flask, client, api_a, tenant_a, settings, database_urls
) -> None:
    _busy_tenant(client, api_a, tenant_a)
    ok = _verify(settings, tenant_a.slug)
    assert ok.exit_code == 0 and "ok" in ok.output
    target = _events(app, tenant_a.slug)[4]
    engine = _raw(database_urls)
    with engine.begin() as c:  # one byte of the action
        c.execute(
            text("update audit_events set action = :a where id = :i"),
            {"a": target.action[:-1] + "X", "i": _id(target, database_urls)},
        )
    broken = _verify(settings, tenant_a.slug)
    assert broken.exit_code == 1
    assert f"BROKEN at event {target.seq} (id {target.id})" in broken.output
    engine.dispose()


def _id(event: AuditEvent, database_urls) -> object:  # type: ignore[no-untyped-def]
    # SQLite stores UUIDs as 32 hex characters, PostgreSQL natively
    return event.id if database_urls.backend == "postgresql" else event.id.hex


@pytest.mark.parametrize("tamper", ["delete-middle", "delete-newest", "reorder"])
def test_deleting_or_reordering_rows_is_found(
    app: Flask, client, api_a, tenant_a, settings, database_urls, tamper: str
) -> None:
    _busy_tenant(client, api_a, tenant_a)
    events = _events(app, tenant_a.slug)
    engine = _raw(database_urls)
    with engine.begin() as c:
        if tamper == "delete-middle":
            c.execute(
                text("delete from audit_events where id = :i"), {"i": _id(events[3], database_urls)}
            )
        elif tamper == "delete-newest":
            c.execute(
                text("delete from audit_events where id = :i"),
                {"i": _id(events[-1], database_urls)},
            )
        else:
            a, b = events[2], events[3]
            c.execute(
                text("update audit_events set seq = -1 where id = :i"), {"i": _id(a, database_urls)}
            )
            c.execute(
                text("update audit_events set seq = :s where id = :i"),
                {"s": a.seq, "i": _id(b, database_urls)},
            )
            c.execute(
                text("update audit_events set seq = :s where id = :i"),
                {"s": b.seq, "i": _id(a, database_urls)},
            )
    engine.dispose()
    result = _verify(settings, tenant_a.slug)
    assert result.exit_code == 1 and "BROKEN at event" in result.output
    expected = {
        "delete-middle": events[3].seq,
        "delete-newest": events[-1].seq,
        "reorder": events[2].seq,
    }[tamper]
    assert f"BROKEN at event {expected} " in result.output


def test_other_tenants_chains_are_separate(app, api_a, api_b, tenant_a, tenant_b, settings) -> None:
    api_b.post("/users", json={"email": "x@b.cn", "display_name": "X", "password": "Good-pass-9x"})
    a_actions = [e.action for e in _events(app, tenant_a.slug)]
    assert "user.create" in a_actions and all(e.seq > 0 for e in _events(app, tenant_b.slug))
    everyone = CliRunner().invoke(cli, ["audit", "verify"], env=_env(settings))
    assert everyone.exit_code == 0
    assert f"{tenant_a.slug}: ok" in everyone.output and f"{tenant_b.slug}: ok" in everyone.output


@pytest.mark.postgresql
def test_the_app_role_can_only_insert_and_read_audit_rows(app: Flask, tenant_a) -> None:
    db = app.extensions["loandesk"].db
    with db.transaction() as s:
        ref = tenants.get_by_slug(s, tenant_a.slug).ref()
    for statement in ("update audit_events set action = 'x'", "delete from audit_events"):
        with use(ref), pytest.raises(Exception, match="permission denied"), db.transaction() as s:
            s.execute(text(statement))


def test_audit_page_filters_and_exports_csv(app: Flask, client, api_a, tenant_a) -> None:
    _busy_tenant(client, api_a, tenant_a)
    page = client.get(f"/t/{tenant_a.slug}/admin/audit?action=user.sign_in_failed")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "user.sign_in_failed" in html and "user.create" not in html
    prefix = client.get(f"/t/{tenant_a.slug}/admin/audit?action=user.").get_data(as_text=True)
    assert "user.create" in prefix and "api_client.create" not in prefix
    bad = client.get(f"/t/{tenant_a.slug}/admin/audit?since=yesterday")
    assert bad.status_code == 422 and "field-error" in bad.get_data(as_text=True)
    export = client.get(f"/t/{tenant_a.slug}/admin/audit/export.csv?record_type=user")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    body = export.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:3] == ["seq", "occurred_at", "actor_kind"]
    assert {r[5] for r in rows[1:]} >= {"user.create", "user.update"}
    assert all(r[6] == "user" for r in rows[1:])
    exported = [e for e in _events(app, tenant_a.slug) if e.action == "audit.export"]
    assert exported and exported[-1].diff == {"record_type": "user"}
    token = csrf_from(client, f"/t/{tenant_a.slug}/")
    assert token  # the page still works after the export


def test_csv_cells_cannot_become_formulas(app: Flask, client, api_a, tenant_a) -> None:
    api_a.post(
        "/users",
        json={"email": "f@a.cn", "display_name": "F", "password": "Good-pass-123"},
        headers={"User-Agent": '=HYPERLINK("http://evil")'},
    )
    web_login(client, tenant_a)
    body = client.get(f"/t/{tenant_a.slug}/admin/audit/export.csv").get_data(as_text=True)
    cells = [c for row in csv.reader(io.StringIO(body.lstrip("\ufeff"))) for c in row]
    assert '\'=HYPERLINK("http://evil")' in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
