# ruff: noqa: F811  (the notification tests' connector fixture is used by name)
"""Report subscriptions: "every Monday at 08:00 Beijing time, applications by unit" — sent
once per due time however often the job runs, each recipient their own numbers (run as them,
under their data scope), one who may not run or export the report told so instead; managed
by the report's owner through the API, audited, refused with 422 naming the field."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from tests.helpers import ApiClient
from tests.platform.automations.conftest import run_job
from tests.platform.flows.conftest import at
from tests.platform.job_fixtures import job_app, job_settings  # noqa: F401  (fixtures)
from tests.platform.notifications.conftest import Connector, connector  # noqa: F401
from tests.platform.reports.conftest import Books
from tests.platform.reports.test_catalog import APPLICATION_FIELDS
from tests.platform.reports.test_export import sql
from tests.platform.test_jobs import run_worker, worker_env  # noqa: F401  (a fixture)
from tests.plugins.customers.conftest import audit_events

SCOPES = ("reports:read", "reports:write")
MONDAYS = "0 8 * * 1"


@pytest.fixture
def report(books: Books, staff: dict[str, ApiClient], api_a: ApiClient) -> dict[str, Any]:
    """The risk manager's report of applications by unit, shared with the credit officers,
    who may export reports and every application field (their scope: their own)."""
    role = next(r for r in api_a.get("/roles").get_json() if r["key"] == "credit_officer")
    permissions = [*role["permissions"], "reports.export"]
    assert api_a.patch(f"/roles/{role['id']}", json={"permissions": permissions}).status_code == 200
    access = {
        "scope": "own",
        "fields": dict.fromkeys(APPLICATION_FIELDS, "edit"),
        "export": list(APPLICATION_FIELDS),
    }
    put = api_a.put(f"/roles/{role['id']}/record-access/application", json=access)
    assert put.status_code == 200, put.get_json()
    body = {
        "name": "各部门申请",
        "dataset": "intake.applications",
        "spec": {"dimensions": [{"key": "org_unit_id"}], "measures": ["count", "amount_sum"]},
        "shared_with_roles": ["credit_officer"],
    }
    created = staff["risk"].post("/reports", json=body)
    assert created.status_code == 201, created.get_json()
    return dict(created.get_json())


def subscribe(api: ApiClient, report_id: str, **values: Any) -> Any:
    return api.post(f"/reports/{report_id}/subscriptions", json={"cron": MONDAYS, **values})


def _run(books: Books, moment: str | None) -> int:
    """The subscriptions job's work at Beijing time ``moment`` (None: now)."""
    from loandesk import pii
    from loandesk.plugins import runtime
    from loandesk.reports import subscriptions
    from loandesk.tenancy import current

    when = at(moment) if moment else None
    with books.desk.session() as session:
        channels = runtime.notification_channels()
        return subscriptions.run(session, current(), channels, pii.for_current_tenant(), when)


def _rewind(books: Books, moment: str) -> None:
    """Say the subscriptions last came due at ``moment`` (the test's clock is in 2030)."""
    from loandesk.reports.subscriptions import ReportSubscription

    with books.desk.session() as session:
        session.execute(update(ReportSubscription).values(last_due_at=at(moment)))


def _messages(books: Books) -> dict[str, list[tuple[str, str, str]]]:
    """The outbox by recipient name: (channel, subject, body)."""
    from loandesk.notifications.models import Message

    names = {uuid.UUID(s.user_id): n for n, s in books.desk.firm.staff.items()}
    found: dict[str, list[tuple[str, str, str]]] = {}
    with books.desk.session() as session:
        for m in session.scalars(select(Message).order_by(Message.created_at, Message.key)):
            assert m.user_id is not None
            found.setdefault(names[m.user_id], []).append((m.channel, m.subject, m.body))
    return found


def _unit_totals(books: Books, scope: str, **params: Any) -> dict[str, tuple[int, Decimal]]:
    rows = sql(
        books,
        "SELECT u.name, count(*), sum(a.amount) FROM intake_applications a JOIN org_units u "
        "ON u.tenant_id = a.tenant_id AND u.id = a.org_unit_id "
        f"WHERE a.tenant_id = :tenant AND ({scope}) GROUP BY u.name",
        **params,
    )
    return {name: (int(count), Decimal(cents).scaleb(-2)) for name, count, cents in rows}


def _lines(body: str) -> dict[str, tuple[int, Decimal]]:
    """The rows of a message's text table: unit -> (count, amount)."""
    found = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.split(" | ")]
        if len(cells) == 3 and cells[1].isdigit():
            found[cells[0]] = (int(cells[1]), Decimal(cells[2]))
    return found


def test_each_recipient_gets_their_own_numbers_once_per_due_time(
    books: Books,
    staff: dict[str, ApiClient],
    report: dict[str, Any],
    connector: Connector,
    app: Flask,
) -> None:
    firm = books.desk.firm
    recipients = [firm.staff[n].user_id for n in ("officer1", "risk", "finance")]
    created = subscribe(staff["risk"], report["id"], recipients=recipients)
    assert created.status_code == 201, created.get_json()

    assert _run(books, None) == 0  # the Monday that passed before it was saved does not count
    _rewind(books, "2029-12-31T08:00:00")
    assert _run(books, "2030-01-07T07:59:00") == 0  # not yet Monday 08:00
    assert _run(books, "2030-01-07T08:00:00") == 3
    assert _run(books, "2030-01-07T08:04:00") == 0  # claimed: a second run sends nothing

    sent = _messages(books)
    assert set(sent) == {"officer1", "risk", "finance"}
    # each on the e-mail channel, the report's name as subject
    assert all(len(m) == 1 and m[0][:2] == ("email", "各部门申请") for m in sent.values())
    officer = books.desk.user("officer1")
    assert _lines(sent["officer1"][0][2]) == _unit_totals(books, "a.owner_id = :o", o=officer)
    assert _lines(sent["officer1"][0][2]) == {"一组": (4, Decimal("43700.50"))}
    units = {k: uuid.UUID(firm.units[k]) for k in ("branch", "team1", "team2")}
    assert _lines(sent["risk"][0][2]) == _unit_totals(
        books, "a.org_unit_id IN (:branch, :team1, :team2)", **units
    )
    assert "/reports/" + report["id"] in sent["risk"][0][2]
    # the finance clerk may not see the report (nor export reports): told so, no numbers
    assert _lines(sent["finance"][0][2]) == {}
    assert "各部门申请" in sent["finance"][0][2]
    assert any(word in sent["finance"][0][2] for word in ("no longer", "无权"))

    # a second scheduler that read the subscription before the claim: the sends are unique
    _rewind(books, "2029-12-31T08:00:00")
    assert _run(books, "2030-01-07T08:05:00") == 0
    assert sum(len(m) for m in _messages(books).values()) == 3

    from loandesk.reports.subscriptions import ReportDelivery

    with books.desk.session() as session:
        outcomes = sorted((d.outcome, d.rows) for d in session.scalars(select(ReportDelivery)))
    assert outcomes == [("refused", None), ("sent", 1), ("sent", 2)]
    events = audit_events(app, firm, "report.export")
    assert sorted(e.diff["format"] for e in events) == ["email:inline", "email:inline"]
    assert all("43700" not in str(e.diff) for e in events)

    assert _run(books, "2030-01-14T08:00:00") == 3  # the next Monday


def test_the_job_sends_what_came_due(
    books: Books, staff: dict[str, ApiClient], report: dict[str, Any], connector: Connector
) -> None:
    officer = books.desk.firm.staff["officer1"].user_id
    created = subscribe(staff["risk"], report["id"], recipients=[officer], format="xlsx")
    assert created.status_code == 201, created.get_json()
    run_job(books.desk, "core.report_subscriptions")
    assert _messages(books) == {}
    _rewind(books, "2020-01-06T08:00:00")  # missed Mondays since: caught up once
    run_job(books.desk, "core.report_subscriptions")
    run_job(books.desk, "core.report_subscriptions")
    (message,) = _messages(books)["officer1"]
    assert _lines(message[2]) == {"一组": (4, Decimal("43700.50"))}
    assert f"/reports/{report['id']}/export.xlsx" in message[2]  # no attachments: a link


def test_without_an_email_channel_the_report_arrives_in_the_app(
    books: Books, staff: dict[str, ApiClient], report: dict[str, Any]
) -> None:
    officer = books.desk.firm.staff["officer1"].user_id
    assert subscribe(staff["risk"], report["id"], recipients=[officer]).status_code == 201
    _rewind(books, "2029-12-31T08:00:00")
    assert _run(books, "2030-01-07T08:00:00") == 1
    ((channel, subject, _body),) = _messages(books)["officer1"]
    assert (channel, subject) == ("in_app", "各部门申请")


def test_subscriptions_are_managed_by_the_reports_owner_and_audited(
    books: Books, staff: dict[str, ApiClient], report: dict[str, Any], app: Flask
) -> None:
    firm = books.desk.firm
    base = f"/reports/{report['id']}/subscriptions"
    officer, risk = firm.staff["officer1"].user_id, firm.staff["risk"].user_id
    first = subscribe(staff["risk"], report["id"], recipients=[officer]).get_json()
    second = subscribe(staff["risk"], report["id"], recipients=[risk], format="csv").get_json()
    assert (first["format"], first["enabled"], first["recipients"]) == ("inline", True, [officer])
    assert first["next_due_at"] is not None

    page = staff["risk"].get(base, query_string={"per_page": 1, "page": 2}).get_json()
    assert [s["id"] for s in page["items"]] == [second["id"]] and page["total"] == 2

    changed = staff["risk"].put(
        f"{base}/{first['id']}",
        json={"cron": "30 9 * * 1-5", "recipients": [officer, risk], "enabled": False},
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["cron"] == "30 9 * * 1-5"
    assert changed.get_json()["next_due_at"] is None  # disabled
    assert staff["risk"].delete(f"{base}/{second['id']}").status_code == 204
    assert staff["risk"].get(base).get_json()["total"] == 1
    assert staff["risk"].delete(f"{base}/{second['id']}").status_code == 404

    # the officer sees the report (shared) but may not manage its subscriptions
    assert staff["officer1"].get(base).status_code == 403
    assert subscribe(staff["officer1"], report["id"], recipients=[officer]).status_code == 403
    assert staff["officer1"].delete(f"{base}/{first['id']}").status_code == 403
    # the finance clerk does not see the report
    assert staff["finance"].get(base).status_code == 404

    (create, _) = audit_events(app, firm, "report.subscription.create")
    assert (create.record_id, create.diff["recipients"]) == (report["id"], [officer])
    (change,) = audit_events(app, firm, "report.subscription.update")
    assert change.diff["cron"] == [MONDAYS, "30 9 * * 1-5"]
    assert change.diff["enabled"] == [True, False]
    (gone,) = audit_events(app, firm, "report.subscription.delete")
    assert gone.diff["subscription"] == second["id"]

    # deleting the report deletes its subscriptions
    assert staff["risk"].delete(f"/reports/{report['id']}").status_code == 204
    from loandesk.reports.subscriptions import ReportSubscription

    with books.desk.session() as session:
        assert session.scalars(select(ReportSubscription)).all() == []


def test_bad_settings_are_refused_naming_the_field(
    books: Books, staff: dict[str, ApiClient], report: dict[str, Any], api_b: ApiClient
) -> None:
    def refused(**values: Any) -> dict[str, Any]:
        response = subscribe(staff["risk"], report["id"], **values)
        assert response.status_code == 422, response.get_json()
        return dict(response.get_json()["errors"])

    officer = books.desk.firm.staff["officer1"].user_id
    assert refused(cron="every monday", recipients=[officer]) == {
        "cron": ["Write the schedule as a 5-field cron expression, such as 0 9 * * 1."]
    }
    assert refused(cron="*/5 * * * *", recipients=[officer]) == {
        "cron": ["A schedule runs at most every 15 minutes."]
    }
    stranger = str(uuid.uuid4())
    assert refused(recipients=[officer, stranger]) == {
        "recipients": [f"No active staff member {stranger}."]
    }
    assert refused(recipients=[]) == {"recipients": ["Choose at least one staff member."]}
    assert set(refused(recipients=["not-an-id"])) == {"recipients"}
    assert refused(recipients=[officer], format="pdf") == {"format": ["One of inline, csv, xlsx."]}
    # another tenant's staff member is unknown here
    theirs = api_b.get("/users").get_json()["items"][0]["id"]
    assert refused(recipients=[theirs]) == {"recipients": [f"No active staff member {theirs}."]}


@pytest.mark.slow
@pytest.mark.usefixtures("hello_distribution")
def test_workers_send_a_due_time_once(
    books: Books,
    staff: dict[str, ApiClient],
    report: dict[str, Any],
    job_app: Flask,
    worker_env: dict[str, str],
) -> None:
    """The job enqueued twice and run by a worker process (on the database backend, and on
    rq in the PostgreSQL + Redis pass): one message, the recipient's own numbers."""
    from loandesk.jobs.runtime import jobs

    officer = books.desk.firm.staff["officer1"].user_id
    assert subscribe(staff["risk"], report["id"], recipients=[officer]).status_code == 201
    _rewind(books, "2020-01-06T08:00:00")
    tenant = uuid.UUID(books.desk.firm.tenant.id)
    with job_app.app_context():
        for _ in range(2):
            jobs().enqueue("core.report_subscriptions", tenant)
    run_worker(worker_env)
    run_worker(worker_env)
    ((channel, subject, body),) = _messages(books)["officer1"]
    assert (channel, subject) == ("in_app", "各部门申请")  # the worker has no e-mail plugin
    assert _lines(body) == {"一组": (4, Decimal("43700.50"))}
