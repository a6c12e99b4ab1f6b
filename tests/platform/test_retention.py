"""Retention (保存期限): a tenant sets how long each record type keeps its personal data, no
shorter than the legal minimum; the daily job, at the tenant's local time, and ``loandesk
retention run`` anonymise what is due, in batches, keeping amounts and dates, with an audit
event per record that holds no personal data. The record type is the test plugin's
``hello_contacts`` (a real model with the PersonalData mixin and its own migration)."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text

from loandesk import pii
from loandesk.audit.models import AuditEvent
from loandesk.db import Database
from loandesk.pii.retention import ANONYMISED_NAME, RetentionSubject
from loandesk.privacy import retention
from loandesk.privacy.cli import retention_group
from loandesk.settings import Settings
from loandesk.tenancy import TenantRef, service, use
from tests.helpers import ApiClient, TenantFixture, fetch_token

pytestmark = pytest.mark.usefixtures("hello_distribution")

ID_NUMBER = "440305199003071236"
MOBILE = "13912345678"
NOW = datetime.now(UTC)


def _db(app: Flask) -> Database:
    db: Database = app.extensions["loandesk"].db
    return db


def _ref(app: Flask, slug: str) -> TenantRef:
    with _db(app).transaction() as session:
        return service.get_by_slug(session, slug).ref()


def _enable_hello(api: ApiClient) -> None:
    response = api.client.put(
        "/api/v1/plugins/hello",
        json={"enabled": True, "settings": {"greeting": "hi"}},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 200, response.get_json()


def _put(api: ApiClient, periods: dict[str, Any]) -> Any:
    return api.client.put(
        "/api/v1/retention",
        json={"periods": periods},
        headers={"Authorization": f"Bearer {api.token}"},
    )


def _add_contact(
    app: Flask, tenant: TenantRef, name: str, ended_days_ago: int | None, settings: Settings
) -> uuid.UUID:
    from loandesk_hello.models import HelloContact

    with use(tenant), _db(app).transaction() as session:
        keys = pii.Keyring(session, master_key=settings.master_key)
        contact = HelloContact(
            name=name,
            amount=Decimal("5000.00"),
            ended_at=None if ended_days_ago is None else NOW - timedelta(days=ended_days_ago),
        )
        contact.set_personal("mobile", MOBILE, keys=keys)
        contact.set_personal("id_number", ID_NUMBER, keys=keys)
        session.add(contact)
    return contact.id


def _contacts(app: Flask, tenant: TenantRef) -> dict[str, Any]:
    from loandesk_hello.models import HelloContact

    with use(tenant), _db(app).transaction() as session:
        return {c.id: c for c in session.scalars(select(HelloContact))}


def _audit(app: Flask, tenant: TenantRef, action: str | None = None) -> list[AuditEvent]:
    with use(tenant), _db(app).transaction() as session:
        query = select(AuditEvent).order_by(AuditEvent.seq)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(session.scalars(query))


def _run(app: Flask, tenant: TenantRef, **kw: Any) -> list[retention.SubjectRun]:
    from loandesk.plugins import runtime

    with app.app_context(), use(tenant), _db(app).session_factory() as session:
        available = retention.subjects(runtime.host(), {"hello"})
        return retention.run(session, available, timezone=tenant.timezone, **kw)


# --- periods ---------------------------------------------------------------------------------


def test_periods_are_set_per_tenant_and_never_below_the_minimum(
    client, api_a: ApiClient, api_b: ApiClient, app: Flask, tenant_a
) -> None:
    _enable_hello(api_a)
    listed = {p["record_type"]: p for p in api_a.get("/retention").get_json()["record_types"]}
    assert list(listed) == ["core.data_request", "hello.contact"]
    contact = listed["hello.contact"]
    assert (contact["is_set"], contact["days"], contact["due_now"]) == (False, None, None)
    assert (contact["minimum_days"], contact["clock_en"]) == (30, "after the contact ended")
    assert listed["core.data_request"]["minimum_days"] == 1095
    b_types = [p["record_type"] for p in api_b.get("/retention").get_json()["record_types"]]
    assert b_types == ["core.data_request"]  # B has not enabled the plugin

    for bad, field in (
        ({"hello.contact": 29}, "hello.contact"),
        ({"hello.contact": 40, "core.data_request": 1094}, "core.data_request"),
        ({"nope.thing": 40}, "nope.thing"),
        ({"hello.contact": 36501}, "hello.contact"),
    ):
        refused = _put(api_a, bad)
        assert refused.status_code == 422, bad
        assert refused.get_json()["code"] == "validation_error"
        assert list(refused.get_json()["errors"]) == [field]
    assert _put(api_a, {"hello.contact": "40"}).status_code == 422  # not an integer
    assert api_a.get("/retention").get_json()["record_types"][1]["is_set"] is False

    saved = _put(api_a, {"hello.contact": 30, "core.data_request": None})
    assert saved.status_code == 200
    after = {p["record_type"]: p for p in saved.get_json()["record_types"]}
    assert (after["hello.contact"]["days"], after["hello.contact"]["is_set"]) == (30, True)
    assert (after["core.data_request"]["days"], after["core.data_request"]["is_set"]) == (
        None,
        True,
    )
    assert _put(api_b, {"hello.contact": 40}).status_code == 422  # not enabled there
    (event,) = _audit(app, _ref(app, tenant_a.slug), "retention.update")
    assert event.diff == {"core.data_request": ["unset", "forever"], "hello.contact": ["unset", 30]}

    limited = api_a.post("/api-clients", json={"name": "ro", "scopes": ["privacy:read"]})
    token = fetch_token(
        client, limited.get_json()["client_id"], limited.get_json()["client_secret"]
    ).get_json()["access_token"]
    reader = ApiClient(client, token)
    assert reader.get("/retention").status_code == 200
    assert _put(reader, {"hello.contact": 60}).status_code == 403


def test_the_cutoff_is_the_tenants_local_midnight() -> None:
    now = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)  # 02:00 on the 29th in Shanghai
    assert retention.cutoff_for(60, "Asia/Shanghai", now) == datetime(
        2026, 9, 29, 16, 0, tzinfo=UTC
    )
    assert retention.cutoff_for(60, "Europe/Berlin", now) == datetime(
        2026, 9, 28, 22, 0, tzinfo=UTC
    )


# --- the run -------------------------------------------------------------------------------


def test_the_run_anonymises_what_is_due_in_batches_and_keeps_the_rest(
    app: Flask, api_a: ApiClient, api_b: ApiClient, tenant_a, tenant_b, settings
) -> None:
    from loandesk_hello.models import HelloContact

    a, b = _ref(app, tenant_a.slug), _ref(app, tenant_b.slug)
    _enable_hello(api_a)
    _enable_hello(api_b)
    assert _put(api_a, {"hello.contact": 60}).status_code == 200
    due = [_add_contact(app, a, f"张三{i}", 100, settings) for i in range(5)]
    recent = _add_contact(app, a, "李四", 30, settings)
    ongoing = _add_contact(app, a, "王五", None, settings)
    theirs = _add_contact(app, b, "赵六", 400, settings)  # B has chosen no period: kept
    listed = {p["record_type"]: p for p in api_a.get("/retention").get_json()["record_types"]}
    assert listed["hello.contact"]["due_now"] == 5

    (dry,) = _run(app, a, dry_run=True)
    assert (dry.record_type, dry.due, dry.anonymised) == ("hello.contact", 5, 0)
    assert all(c.anonymised_at is None for c in _contacts(app, a).values())

    progress: list[tuple[int, int]] = []
    (done,) = _run(app, a, batch_size=2, progress=lambda d, t: progress.append((d, t)))
    assert (done.due, done.anonymised, done.days) == (5, 5, 60)
    assert progress == [(2, 5), (4, 5), (5, 5)]  # three batches, each committed

    contacts = _contacts(app, a)
    with use(a), _db(app).transaction() as session:
        keys = pii.Keyring(session, master_key=settings.master_key)
        for contact_id in due:
            contact = contacts[contact_id]
            assert contact.name == ANONYMISED_NAME and contact.anonymised_at is not None
            for field in ("mobile", "id_number"):
                assert getattr(contact, f"{field}_enc") is None
                assert getattr(contact, f"{field}_hash") is None
            assert contact.amount == Decimal("5000.00") and contact.ended_at is not None
        for contact_id, name in ((recent, "李四"), (ongoing, "王五")):
            kept = contacts[contact_id]
            assert kept.name == name and kept.get_personal("mobile", keys=keys) == MOBILE
        found = session.scalars(
            select(HelloContact.id).where(HelloContact.personal_match("mobile", MOBILE, keys=keys))
        ).all()
        assert sorted(found) == sorted([recent, ongoing])  # erased values are not findable
    assert _contacts(app, b)[theirs].name == "赵六"

    events = _audit(app, a, "retention.anonymise")
    assert sorted(e.record_id for e in events) == sorted(str(i) for i in due)
    assert {json.dumps(e.diff, sort_keys=True) for e in events} == {
        json.dumps({"cleared": ["id_number", "mobile", "name"], "days": 60}, sort_keys=True)
    }
    assert {(e.record_type, e.actor_kind) for e in events} == {("hello.contact", "system")}
    every_diff = json.dumps([e.diff for e in _audit(app, a)], ensure_ascii=False)
    for personal in (MOBILE, ID_NUMBER, "张三"):
        assert personal not in every_diff

    listed = {p["record_type"]: p for p in api_a.get("/retention").get_json()["record_types"]}
    assert (listed["hello.contact"]["due_now"], listed["hello.contact"]["last_run_anonymised"]) == (
        0,
        5,
    )
    (again,) = _run(app, a)
    assert (again.due, again.anonymised) == (0, 0)


def test_a_subject_whose_anonymise_leaves_records_due_is_stopped(
    app: Flask, api_a: ApiClient, tenant_a, settings
) -> None:
    from loandesk_hello import _contacts_due

    a = _ref(app, tenant_a.slug)
    _enable_hello(api_a)
    assert _put(api_a, {"hello.contact": 30}).status_code == 200
    _add_contact(app, a, "钱七", 90, settings)
    broken = RetentionSubject(
        "hello.contact", "x", "x", "x", "x", _contacts_due, lambda s, i, n: ["name"], 30
    )
    with app.app_context(), use(a), _db(app).session_factory() as session:
        with pytest.raises(RuntimeError, match="still due once anonymised"):
            retention.run(session, [broken], timezone=a.timezone)


def test_the_shell_runs_it_dry_and_for_real(
    app: Flask, api_a: ApiClient, tenant_a, settings
) -> None:
    a = _ref(app, tenant_a.slug)
    _enable_hello(api_a)
    assert _put(api_a, {"hello.contact": 45}).status_code == 200
    contact = _add_contact(app, a, "孙八", 50, settings)
    runner = app.test_cli_runner()

    dry = runner.invoke(retention_group, ["run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.output)
    assert report["dry_run"] is True
    (tenant,) = report["tenants"]
    assert tenant["tenant"] == "tenant-a"
    (row,) = tenant["record_types"]
    assert (row["record_type"], row["days"], row["due"], row["anonymised"]) == (
        "hello.contact",
        45,
        1,
        0,
    )
    assert _contacts(app, a)[contact].anonymised_at is None

    real = runner.invoke(retention_group, ["run", "--tenant", "tenant-a"])
    assert real.exit_code == 0, real.output
    assert json.loads(real.output)["tenants"][0]["record_types"][0]["anonymised"] == 1
    assert _contacts(app, a)[contact].name == ANONYMISED_NAME

    unknown = runner.invoke(retention_group, ["run", "--tenant", "nobody"])
    assert unknown.exit_code != 0 and "No such tenant" in unknown.output

    # the same command through the `loandesk` entry point, as an operator runs it
    from click.testing import CliRunner

    from loandesk.cli import cli

    env = {
        "LOANDESK_DATABASE_URL": settings.database_url,
        "LOANDESK_MIGRATION_DATABASE_URL": settings.migration_database_url,
        "LOANDESK_INSTANCE_PATH": str(settings.instance_path),
    }
    shell = CliRunner().invoke(cli, ["retention", "run", "--dry-run"], env=env)
    assert shell.exit_code == 0, shell.output
    assert json.loads(shell.output)["tenants"][0]["record_types"][0]["due"] == 0  # done above


# --- the daily job ---------------------------------------------------------------------------


@pytest.fixture
def db_jobs_app(settings: Settings, app: Flask) -> Iterator[Flask]:
    """An app whose jobs are kept in the database (on PostgreSQL too), run in this process."""
    from loandesk.app import create_app

    other = create_app(settings.replace(redis_url=""))
    yield other
    other.extensions["loandesk"].db.dispose()


def _work(app: Flask) -> None:
    from loandesk.jobs.database import DatabaseBackend
    from loandesk.jobs.runtime import execute

    registry = app.extensions["loandesk.jobs"]
    assert isinstance(registry.backend, DatabaseBackend)
    registry.backend.work(functools.partial(execute, app), registry.queues, burst=True)


def test_the_daily_job_runs_at_each_tenants_local_night(
    db_jobs_app: Flask, database_urls, settings
) -> None:
    from loandesk.jobs.database import Job
    from loandesk.jobs.runtime import scheduler
    from tests.helpers import make_tenant

    app = db_jobs_app
    shanghai: TenantFixture = make_tenant(app, "ret-sh")
    berlin: TenantFixture = make_tenant(app, "ret-de")
    raw = create_engine(
        (database_urls.admin_url or database_urls.owner_url).replace(
            "postgresql://", "postgresql+psycopg://"
        )
    )
    with raw.begin() as c:
        c.execute(text("update tenants set timezone = 'Europe/Berlin' where slug = 'ret-de'"))
    raw.dispose()
    contacts = {}
    for fixture in (shanghai, berlin):
        api = ApiClient(app.test_client(), fixture.token)
        _enable_hello(api)
        assert _put(api, {"hello.contact": 30}).status_code == 200
        ref = _ref(app, fixture.slug)
        contacts[fixture.slug] = (ref, _add_contact(app, ref, "周九", 31, settings))

    def anonymised(slug: str) -> bool:
        ref, contact_id = contacts[slug]
        return _contacts(app, ref)[contact_id].anonymised_at is not None

    clock = scheduler(app)
    clock.tick(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))  # first sight: nothing fires
    fired = clock.tick(datetime(2026, 11, 28, 19, 30, tzinfo=UTC))  # 03:30 in Shanghai
    retention_fired = [(name, t) for name, t, _due in fired if name == "core.retention"]
    assert retention_fired == [("core.retention", uuid.UUID(shanghai.id))]
    _work(app)
    assert anonymised("ret-sh") and not anonymised("ret-de")

    fired = clock.tick(datetime(2026, 11, 29, 2, 30, tzinfo=UTC))  # 03:30 in Berlin
    assert [t for name, t, _due in fired if name == "core.retention"] == [uuid.UUID(berlin.id)]
    _work(app)
    assert anonymised("ret-de")
    with _db(app).transaction() as session:
        states = session.scalars(select(Job.state).where(Job.name == "core.apply_retention"))
        assert list(states) == ["done", "done"]
