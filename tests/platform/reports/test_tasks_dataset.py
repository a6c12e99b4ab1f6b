# ruff: noqa: F811  (fixtures imported from the reports tests are used by name)
"""The approval tasks dataset (``intake.approval_tasks``): rows that are not the record type's
own, joined to the applications and narrowed by the viewer's scope over them. Applications
go through a real approval flow with the clock injected; each number equals what a
hand-written SQL query over the same tables gives, the median and the 90th percentile are
exact (the .5 of an even count kept) and equal ``statistics`` over the same durations — on
SQLite and on PostgreSQL alike."""

from __future__ import annotations

import statistics
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture
from tests.platform.flows.conftest import Desk, approver, at
from tests.platform.reports.conftest import Books, books, reports_client  # noqa: F401
from tests.platform.reports.test_catalog import APPLICATION_FIELDS
from tests.plugins.customers.conftest import add_staff

TASKS = "intake.approval_tasks"
START = at("2026-04-13T09:00:00")  # a Monday in Beijing


def submit_at(desk: Desk, who: str, when: datetime, amount: str = "20000.00") -> uuid.UUID:
    """An application of ``who``'s submitted into approval at ``when`` (the clock injected):
    its approval's id."""
    from loandesk_intake.models import Application
    from loandesk_intake.service import values_of

    from loandesk.fields.forms import published_form
    from loandesk.flows.service import submit_for_approval
    from loandesk.plugins import runtime

    api = desk.firm.staff[who].api
    body = {"customer_id": desk.customer_of(who), "amount": amount, "term_months": 12}
    created = api.post("/applications", json=body)
    assert created.status_code == 201, created.get_json()
    with desk.session() as session:
        application = session.scalar(
            select(Application).where(Application.id == uuid.UUID(created.get_json()["id"]))
        )
        assert application is not None
        application.status = "submitted"
        application.submitted_at = when
        form = published_form(session, runtime.record_type("application"))
        instance = submit_for_approval(
            session,
            form.record_type,
            application,
            form,
            values_of(application, form),
            submitter_id=desk.user(who),
            title=application.number,
            now=when,
        )
        assert instance is not None
        return instance.id


@pytest.fixture
def approvals(books: Books) -> Books:
    """The seeded applications, and six more through the flow 信审 (A or B, 24 hours, then
    approved on timeout) → 风控 (the risk manager), decided at chosen moments:

    1. officer1's: A approves after 1:30, risk after 3:30 more;
    2. officer1's: B rejects after 2:00;
    3. officer3's: A approves after 0:45, risk sends it back after 2:15:01 more;
    4. officer2's: A approves after 0:10:07, risk has it pending;
    5. officer3's: nobody decides, the step times out after 24 hours (approved for both);
    6. officer1's, a month later: B approves after 0:20:01, risk after 0:39:59 more.
    """
    desk = books.desk
    h = timedelta(hours=1)
    desk.publish(
        [
            approver(
                "credit",
                [desk.user("a"), desk.user("b")],
                mode="any",
                deadline={"kind": "hours", "amount": 24},
                on_timeout="approve",
            )
            | {"name": "信审"},
            approver("risk", [desk.user("risk")]) | {"name": "风控"},
        ]
    )
    one = submit_at(desk, "officer1", START)
    desk.act("approve", "a", one, now=START + 1.5 * h)
    desk.act("approve", "risk", one, now=START + 5 * h)

    day = START + 24 * h
    two = submit_at(desk, "officer1", day)
    desk.act("reject", "b", two, now=day + 2 * h)

    day += 24 * h
    three = submit_at(desk, "officer3", day, "30000.00")
    desk.act("approve", "a", three, now=day + 0.75 * h)
    desk.act("send_back", "risk", three, "submitter", now=day + 3 * h + timedelta(seconds=1))

    day += 24 * h
    four = submit_at(desk, "officer2", day, "45000.00")
    desk.act("approve", "a", four, now=day + timedelta(minutes=10, seconds=7))

    day += 24 * h
    submit_at(desk, "officer3", day)
    from loandesk.flows import deadlines

    with desk.session() as session:
        assert deadlines.run_due(session, day + 25 * h) == 1

    day = START + 35 * 24 * h
    six = submit_at(desk, "officer1", day, "12345.67")
    desk.act("approve", "b", six, now=day + timedelta(minutes=20, seconds=1))
    desk.act("approve", "risk", six, now=day + h)
    return books


# --- the same numbers, by hand ---------------------------------------------------------------


@dataclass
class Task:
    approver: str
    node: str
    decision: str
    seconds: int | None
    overdue: bool
    owner: str
    unit: str
    amount: int


def moment(value: Any) -> datetime | None:
    """A timestamp as a query by hand gives it (SQLite: naive UTC text)."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def ident(value: Any) -> str:
    return str(uuid.UUID(str(value)))


def tasks_by_hand(books: Books) -> list[Task]:
    """Every approval task of an application, its decision and whole seconds to decide,
    from plain SQL over the flow tables (the join to the applications done here)."""
    applications = {
        ident(i): (ident(owner), ident(unit), amount)
        for i, owner, unit, amount in books.sql(
            "SELECT id, owner_id, org_unit_id, amount FROM intake_applications "
            "WHERE tenant_id = :tenant"
        )
    }
    sent_back = {
        (ident(step), ident(actor)): moment(created)
        for step, actor, created in books.sql(
            "SELECT step_id, actor_id, created_at FROM flow_actions "
            "WHERE tenant_id = :tenant AND action = 'sent_back'"
        )
    }
    found = []
    for row in books.sql(
        "SELECT t.assignee_id, s.node_name, t.state, t.decided_by_id, t.created_at, "
        "t.decided_at, s.timed_out_at, i.record_id, t.step_id "
        "FROM flow_tasks t JOIN flow_steps s ON s.id = t.step_id "
        "JOIN flow_instances i ON i.id = t.instance_id "
        "WHERE t.tenant_id = :tenant AND i.record_type = 'application'"
    ):
        assignee, node, state, by, created, decided, timed_out, record, step = row
        created, decided, timed_out = moment(created), moment(decided), moment(timed_out)
        returned = sent_back.get((ident(step), ident(assignee)))
        if returned is not None:
            decision, decided = "returned", returned
        elif state in ("approved", "rejected") and by is not None:
            decision = state
        elif state == "approved":
            decision = "auto_approved"
        else:
            decision = "pending" if state == "waiting" else state
        assert created is not None
        seconds = None
        if decision in ("approved", "rejected", "returned"):
            assert decided is not None
            seconds = int(decided.timestamp()) - int(created.timestamp())
        overdue = timed_out is not None and created <= timed_out
        overdue = overdue and (decided is None or decided >= timed_out)
        owner, unit, amount = applications[record]
        found.append(
            Task(ident(assignee), node, decision, seconds, overdue, owner, unit, int(amount))
        )
    return found


def hours(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return str((value / 3600).quantize(Decimal("0.01"), ROUND_HALF_UP))


def median(seconds: list[int]) -> Decimal | None:
    return Decimal(statistics.median([Decimal(s) for s in seconds])) if seconds else None


def p90(seconds: list[int]) -> Decimal | None:
    """The 90th percentile interpolated as ``percentile_cont`` does."""
    if len(seconds) < 2:
        return Decimal(seconds[0]) if seconds else None
    return Decimal(statistics.quantiles([Decimal(s) for s in seconds], n=10, method="inclusive")[8])


def query(api: ApiClient, **spec: Any) -> list[dict[str, Any]]:
    response = api.post("/reports/query", json={"dataset": TASKS, **spec})
    assert response.status_code == 200, response.get_json()
    return list(response.get_json()["rows"])


# --- tests -------------------------------------------------------------------------------------


def test_the_seeded_flow_is_what_the_fixture_says(approvals: Books) -> None:
    desk = approvals.desk
    by_approver: dict[str, list[int]] = {}
    for task in tasks_by_hand(approvals):
        if task.seconds is not None:
            by_approver.setdefault(task.approver, []).append(task.seconds)
    assert sorted(by_approver[str(desk.user("a"))]) == [607, 2700, 5400]
    assert sorted(by_approver[str(desk.user("b"))]) == [1201, 7200]
    assert sorted(by_approver[str(desk.user("risk"))]) == [2399, 8101, 12600]
    decisions = Counter(t.decision for t in tasks_by_hand(approvals))
    assert decisions == {
        "approved": 6,
        "rejected": 1,
        "returned": 1,
        "auto_approved": 2,
        "cancelled": 5,  # the other of A and B once one decided
        "pending": 2,
    }


def test_each_approvers_numbers_equal_hand_written_sql(approvals: Books) -> None:
    measures = [
        "tasks",
        "decisions",
        "approvals",
        "rejections",
        "returns",
        "pending",
        "overdue",
        "median_hours",
        "p90_hours",
        "avg_hours",
        "approved_amount",
        "approval_share",
    ]
    found = query(approvals.api["finance"], dimensions=["approver"], measures=measures)
    expected: dict[str, dict[str, Any]] = {}
    for approver_id in {t.approver for t in tasks_by_hand(approvals)}:
        mine = [t for t in tasks_by_hand(approvals) if t.approver == approver_id]
        seconds = [t.seconds for t in mine if t.seconds is not None]
        decided = Counter(t.decision for t in mine)
        own = decided["approved"] + decided["rejected"] + decided["returned"]
        approved = [t.amount for t in mine if t.decision == "approved"]
        expected[approver_id] = {
            "approver": approver_id,
            "tasks": len(mine),
            "decisions": own,
            "approvals": decided["approved"],
            "rejections": decided["rejected"],
            "returns": decided["returned"],
            "pending": decided["pending"],
            "overdue": sum(t.overdue for t in mine),
            "median_hours": hours(median(seconds)),
            "p90_hours": hours(p90(seconds)),
            "avg_hours": hours(Decimal(sum(seconds)) / len(seconds)) if seconds else None,
            "approved_amount": str(Decimal(sum(approved)).scaleb(-2)) if approved else None,
            "approval_share": (
                str((Decimal(decided["approved"]) / own).quantize(Decimal("0.0001"), ROUND_HALF_UP))
                if own
                else None
            ),
        }
    assert {r["approver"]: r for r in found} == expected
    risk = expected[str(approvals.desk.user("risk"))]
    assert (risk["median_hours"], risk["avg_hours"]) == ("2.25", "2.14")  # 8101 s; 23100/3


def test_the_median_keeps_the_half_of_an_even_count_on_every_database(approvals: Books) -> None:
    """Median and 90th percentile of whole seconds, unscaled: B's two decisions took 7200 and
    1201 seconds, so the median is 4200.5 exactly."""
    from loandesk_intake.reports import APPROVAL_TASKS

    from loandesk import pii
    from loandesk.auth.models import User
    from loandesk.fields.current import tenant_record_type
    from loandesk.rbac.access import RecordAccess
    from loandesk.reports import Measure
    from loandesk.reports.query import Catalog, QueryContext, compile_report
    from loandesk.tenancy import current

    dataset = replace(
        APPROVAL_TASKS,
        measures=(
            Measure("median_s", "中位数", "Median", "median", "decide_seconds"),
            Measure("p90_s", "90分位", "P90", "p90", "decide_seconds"),
        ),
    )
    assert dataset.problems() == []
    desk = approvals.desk
    with desk.session() as session:
        user = session.scalar(select(User).where(User.id == desk.user("finance")))
        access = RecordAccess.resolve(session, user, tenant_record_type("application"))
        where = QueryContext(
            session.get_bind().dialect.name, current().timezone, pii.for_current_tenant(), session
        )
        spec = {"dimensions": ["approver"], "measures": ["median_s", "p90_s"]}
        compiled = compile_report(Catalog.of(dataset, access), spec, where)
        found = {r["approver"]: r for r in compiled.run(session)}
        overall = compile_report(
            Catalog.of(dataset, access), {"measures": ["median_s", "p90_s"]}, where
        ).run(session)
    assert found[str(desk.user("b"))] == {
        "approver": str(desk.user("b")),
        "median_s": "4200.50",
        "p90_s": "6600.10",  # 1201 + 0.9 × 5999
    }
    assert found[str(desk.user("a"))]["median_s"] == "2700.00"
    assert found[str(desk.user("a"))]["p90_s"] == "4860.00"  # 2700 + 0.8 × 2700
    everyone = [t.seconds for t in tasks_by_hand(approvals) if t.seconds is not None]
    assert overall == [
        {
            "median_s": str(median(everyone).quantize(Decimal("0.01"))),  # type: ignore[union-attr]
            "p90_s": str(p90(everyone).quantize(Decimal("0.01"), ROUND_HALF_UP)),  # type: ignore[union-attr]
        }
    ]


def test_decisions_by_step_and_decided_month(approvals: Books) -> None:
    found = query(
        approvals.api["finance"],
        dimensions=["step", "decision", {"key": "decided_at", "bucket": "month"}],
        measures=["tasks"],
    )
    by_hand = Counter((t.node, t.decision) for t in tasks_by_hand(approvals))
    counted: Counter[tuple[str, str]] = Counter()
    for row in found:
        counted[(row["step"], row["decision"])] += row["tasks"]
    assert counted == by_hand
    months = {r["decided_at"] for r in found if r["decision"] == "approved"}
    assert months == {"2026-04-01", "2026-05-01"}
    assert {r["decided_at"] for r in found if r["decision"] == "pending"} == {None}


def test_an_officer_with_own_scope_sees_only_the_tasks_of_their_applications(
    approvals: Books,
) -> None:
    desk = approvals.desk
    found = query(
        approvals.api["officer1"], dimensions=["approver"], measures=["tasks", "decisions"]
    )
    mine = [t for t in tasks_by_hand(approvals) if t.owner == str(desk.user("officer1"))]
    expected = Counter(t.approver for t in mine)
    assert {r["approver"]: r["tasks"] for r in found} == dict(expected)
    assert sum(r["tasks"] for r in found) == 8  # applications 1, 2 and 6
    officer3 = query(approvals.api["officer3"], measures=["tasks", "overdue"])
    assert officer3 == [{"tasks": 6, "overdue": 2}]  # applications 3 and 5


def test_a_hidden_field_is_not_offered_but_the_tasks_own_columns_are(
    approvals: Books, api_a: ApiClient
) -> None:
    role = next(r for r in api_a.get("/roles").get_json() if r["key"] == "credit_officer")
    fields = dict.fromkeys(APPLICATION_FIELDS, "edit")
    fields.pop("amount")  # hidden
    fields["status"] = "masked"
    put = api_a.put(
        f"/roles/{role['id']}/record-access/application", json={"scope": "own", "fields": fields}
    )
    assert put.status_code == 200, put.get_json()
    response = approvals.api["officer1"].get("/reports/datasets")
    tasks = next(d for d in response.get_json()["items"] if d["key"] == TASKS)
    measures = {m["key"] for m in tasks["measures"]}
    dimensions = {d["key"]: d for d in tasks["dimensions"]}
    assert "approved_amount" not in measures and "median_hours" in measures
    assert "status" not in dimensions
    assert dimensions["approver"]["kind"] == "user"
    assert dimensions["decided_at"]["buckets"][2] == "month"
    assert {"value": "returned", "label_zh": "退回", "label_en": "Sent back"} in dimensions[
        "decision"
    ]["options"]
    response = approvals.api["officer1"].post(
        "/reports/query", json={"dataset": TASKS, "measures": ["decisions", "approved_amount"]}
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"measures.1": ["No measure approved_amount."]}


def test_a_source_column_may_not_shadow_a_field() -> None:
    from loandesk_intake.record_type import APPLICATION
    from loandesk_intake.reports import APPROVAL_TASKS

    from loandesk.reports import Dataset, Dimension, Measure, Source, SourceColumn

    assert APPROVAL_TASKS.problems(APPLICATION) == []
    assert APPROVAL_TASKS.source is not None
    clash = SourceColumn("status", "状态", "Status", "text", lambda d: None)
    bad = Dataset(
        "intake.bad",
        "坏",
        "Bad",
        "application",
        dimensions=(Dimension("status"),),
        measures=(
            Measure("m", "x", "x", "median", "status"),
            Measure("n", "x", "x", "count", per=60),
            Measure("r", "x", "x", "ratio", numerator="m", denominator="n"),
        ),
        source=Source(APPROVAL_TASKS.source.select_from, (clash, clash)),
    )
    assert bad.problems(APPLICATION) == [
        "dataset 'intake.bad': 'n' per",
        "dataset 'intake.bad': ratio 'r' of a quotient",
        "dataset 'intake.bad': source column 'status' is declared twice",
        "dataset 'intake.bad': source column 'status' is a field",
        "dataset 'intake.bad': 'm' over a text",
    ]


def test_another_tenants_tasks_never_count(
    approvals: Books, app: Flask, client: FlaskClient, tenant_b: TenantFixture, api_b: ApiClient
) -> None:
    for plugin in ("customers", "intake"):
        assert api_b.put(f"/plugins/{plugin}", json={"enabled": True}).status_code == 200
    company = api_b.get("/org-units").get_json()["items"][0]["id"]
    finance = add_staff(app, client, tenant_b, "bfinance", ["finance"], company)
    theirs = reports_client(app, client, tenant_b.slug, tenant_b.id, finance.user_id)
    assert query(theirs, measures=["tasks", "decisions"]) == [{"tasks": 0, "decisions": 0}]
    assert query(approvals.api["finance"], measures=["tasks"]) == [
        {"tasks": len(tasks_by_hand(approvals))}
    ]
