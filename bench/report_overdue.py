"""Overdue rate by region × month over 1,000,000 installments on PostgreSQL: the report
engine against the same numbers by hand-written SQL, in the same run.

Set-up (not timed): a tenant with the ``testloans`` plugin (the test-only installments, until
the servicing plugins exist; pip-installed into a temporary folder as the tests do), an org
tree of 4 branches × 2 teams with 5 credit officers each, a finance clerk (scope "all") and a
risk manager heading 华东 (scope "unit": the branch and its teams). N installments, COPYed
in (as the superuser; PostgreSQL refuses COPY FROM under row-level security): loans of 12
monthly installments, the borrower in one of 31 provinces weighted by population (a district
of it drawn at random; the branch follows the province), each loan's principal drawn from a
log-normal distribution (median ¥20,000, ¥1,000 to ¥500,000, Decimal) repaid in equal parts
with interest on the balance, due dates over the 24 months 2025-01 to 2026-12 (the day of
the run: 2026-12-07). 15 % of loans stop paying at a period drawn uniformly: that
installment and every later one already due are overdue, so overdue rises with months on
book (about 8 % of installments; printed). An installment's ``principal_outstanding`` is the
loan's principal still owed in its period (期初剩余本金), so by due month the sums are the
book's balance and its overdue part in that month.

The **report** is ``reports.service.run`` of the spec below, as ``POST /api/v1/reports/query``
runs it: inside a request acting for the staff member (their ``RecordAccess``, the dataset's
catalog, ``compile_report``, one SQL query, the rows converted), through the app role under
row-level security. The **baseline** is the hand-written query of the same numbers — sums
per province and ``date_trunc('month', due_date)``, the rate ``round(overdue / total, 4)``
in ``numeric`` — through the same role and session set-up, with the same scope written as
SQL. Both for the finance clerk (every installment) and the risk manager (his branch: the
unit scope's ``org_unit_id IN (...) OR owner_id = ...``). The script checks that both give
the same rows (and fails if not), then times R runs of each, alternating, after one warm-up,
and prints the medians and their ratio. ``--explain`` prints both plans (EXPLAIN ANALYZE).

    .venv/bin/python bench/report_overdue.py --installments 1000000   # default
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from common import Database, admin_password, plugin_folders
from relative_rules import install_testloans
from results import Goal, Row, write_rows
from sqlalchemy import bindparam, text
from sqlalchemy.types import Uuid

from loandesk import migrate
from loandesk.app import create_app
from loandesk.settings import Settings

GOAL = Goal("issue 8", "<", 1.5)
TODAY = date(2026, 12, 7)
FIRST, LAST = date(2025, 1, 1), date(2026, 12, 31)  # the due dates' 24 months
PERIODS = 12
DEFAULTING = 0.15  # the share of loans that stop paying at some period
ANNUAL_RATE = Decimal("0.18")
SPEC = {
    "dataset": "testloans.installments",
    "dimensions": [{"key": "province"}, {"key": "due_date", "bucket": "month"}],
    "measures": ["outstanding_balance", "overdue_balance", "overdue_rate", "count"],
}
# Provinces (GB/T 2260) with their population in millions (the weights), and the branch
# whose teams serve them.
PROVINCES = {
    "11": (21.9, "华北"), "12": (13.6, "华北"), "13": (74.6, "华北"), "14": (34.9, "华北"),
    "15": (24.0, "华北"), "21": (42.6, "华北"), "22": (24.1, "华北"), "23": (31.9, "华北"),
    "37": (101.6, "华北"), "41": (99.4, "华北"), "31": (24.9, "华东"), "32": (84.7, "华东"),
    "33": (64.6, "华东"), "34": (61.0, "华东"), "35": (41.5, "华东"), "36": (45.2, "华东"),
    "42": (57.8, "华南"), "43": (66.4, "华南"), "44": (126.0, "华南"), "45": (50.1, "华南"),
    "46": (10.1, "华南"), "50": (32.1, "西部"), "51": (83.7, "西部"), "52": (38.6, "西部"),
    "53": (47.2, "西部"), "54": (3.6, "西部"), "61": (39.5, "西部"), "62": (25.0, "西部"),
    "63": (5.9, "西部"), "64": (7.2, "西部"), "65": (25.9, "西部"),
}  # fmt: skip
BRANCHES = ("华北", "华东", "华南", "西部")
WATCHED = "华东"  # the risk manager's branch
OFFICERS = 5  # per team
COLUMNS = (
    "tenant_id", "id", "loan_number", "period", "due_date", "amount", "status", "region",
    "province", "principal_outstanding", "days_past_due", "owner_id", "org_unit_id",
    "created_at",
)  # fmt: skip


@dataclass
class Firm:
    tenant: Any
    teams: dict[str, list[uuid.UUID]]  # branch -> its two teams
    officers: dict[uuid.UUID, list[uuid.UUID]]  # team -> its officers
    finance: uuid.UUID
    risk: uuid.UUID
    watched: list[uuid.UUID]  # the risk manager's units: his branch and its teams


def setup_firm(app: Any) -> Firm:
    """The tenant with ``testloans`` enabled, its org tree and staff."""
    from loandesk.auth import users
    from loandesk.plugins import runtime
    from loandesk.plugins import service as plugins
    from loandesk.rbac import org
    from loandesk.tenancy import service, use

    db = app.extensions["loandesk"].db
    with app.test_request_context(), db.transaction() as session:
        signed = service.sign_up(
            session,
            name="压测小贷",
            slug="bench",
            admin_email="admin@bench.example.cn",
            admin_password=admin_password(),
        )
        tenant, company = signed.tenant, signed.admin.org_unit_id
        assert company is not None
        with use(tenant.ref()):
            plugins.set_enabled(
                session,
                runtime.host(),
                tenant_id=tenant.id,
                name="testloans",
                enabled=True,
                acting_user_id=None,
            )
            session.flush()
        ref = tenant.ref()
    with app.test_request_context(), use(ref), db.transaction() as session:

        def person(name: str, role: str, unit: uuid.UUID) -> uuid.UUID:
            made = users.create_user(
                session,
                email=f"{name}@bench.example.cn",
                display_name=name,
                roles=[role],
                org_unit_id=unit,
            )
            return made.user.id

        branches: dict[str, uuid.UUID] = {}
        teams: dict[str, list[uuid.UUID]] = {}
        officers: dict[uuid.UUID, list[uuid.UUID]] = {}
        for number, name in enumerate(BRANCHES, 1):
            branch = org.create_unit(
                session, parent_id=company, name=f"{name}分公司", kind="branch"
            )
            branches[name] = branch.id
            teams[name] = []
            for team_number in (1, 2):
                team = org.create_unit(
                    session, parent_id=branch.id, name=f"{name}{team_number}组", kind="team"
                )
                teams[name].append(team.id)
                officers[team.id] = [
                    person(f"officer{number}{team_number}{i}", "credit_officer", team.id)
                    for i in range(1, OFFICERS + 1)
                ]
        finance = person("finance", "finance", company)
        risk = person("risk", "risk_manager", branches[WATCHED])
        watched = [branches[WATCHED], *teams[WATCHED]]
    return Firm(ref, teams, officers, finance, risk, watched)


def districts() -> dict[str, list[str]]:
    """Per province (two digits), its districts' codes."""
    from loandesk.fields import regions

    found: dict[str, list[str]] = {p: [] for p in PROVINCES}
    for code in regions.names():
        if code[:2] in found and not code.endswith("00"):
            found[code[:2]].append(code)
    return found


def installments(count: int, firm: Firm, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """Rows for ``COLUMNS``: the installments of loans due within ``FIRST`` to ``LAST``."""
    from loandesk.db import to_minor_units, utcnow, uuid7

    places = districts()
    codes = list(PROVINCES)
    weights = [PROVINCES[c][0] for c in codes]
    created = utcnow()
    made = loan = 0
    while made < count:
        loan += 1
        province = rng.choices(codes, weights)[0]
        region = rng.choice(places[province])
        team = rng.choice(firm.teams[PROVINCES[province][1]])
        owner = rng.choice(firm.officers[team])
        start = date(2024, 2, rng.randint(1, 28))  # first due date: 2024-02 .. 2026-12
        start = _months_after(start, rng.randrange(35))
        yuan = min(500_000.0, max(1_000.0, rng.lognormvariate(math.log(20_000), 0.8)))
        principal = Decimal(round(yuan * 100)).scaleb(-2)
        part = (principal / PERIODS).quantize(Decimal("0.01"))
        stops = rng.randint(1, PERIODS) if rng.random() < DEFAULTING else PERIODS + 1
        balance = principal
        for period in range(1, PERIODS + 1):
            due = _months_after(start, period - 1)
            repaid = part if period < PERIODS else balance
            interest = (balance * ANNUAL_RATE / 12).quantize(Decimal("0.01"), ROUND_HALF_UP)
            if FIRST <= due <= LAST and made < count:
                made += 1
                if due >= TODAY:
                    status, late = "due", 0
                elif period >= stops:
                    status, late = "overdue", (TODAY - due).days
                else:
                    status, late = "paid", 0
                yield (
                    firm.tenant.id, uuid7(), f"JJ{loan:010d}", period, due,
                    to_minor_units(repaid + interest), status, region, province + "0000",
                    to_minor_units(balance), late, owner, team, created,
                )  # fmt: skip
            balance -= repaid


def _months_after(day: date, months: int) -> date:
    month = day.month - 1 + months
    return day.replace(year=day.year + month // 12, month=month % 12 + 1)


def load(database: Database, rows: Iterator[tuple[Any, ...]]) -> None:
    with psycopg.connect(database.superuser_url) as connection:
        with connection.cursor() as cursor:
            columns = ", ".join(COLUMNS)
            with cursor.copy(f"COPY testloans_installments ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        connection.execute("ANALYZE testloans_installments")


# --- the two ways to the numbers ----------------------------------------------------------


def by_engine(app: Any, firm: Firm, viewer: uuid.UUID) -> list[tuple[Any, ...]]:
    """The report as the API runs it for ``viewer``: a request acting for them."""
    from flask import g

    from loandesk.auth.models import User
    from loandesk.reports import service
    from loandesk.tenancy import use

    db = app.extensions["loandesk"].db
    with app.test_request_context(), use(firm.tenant):
        try:
            g.user = db.session.get(User, (firm.tenant.id, viewer))
            found = service.run(SPEC)["rows"]
        finally:
            db.session.remove()
    names = ("province", "due_date", "outstanding_balance", "overdue_balance", "overdue_rate")
    return [(*(r[n] for n in names), r["count"]) for r in found]


BASELINE = """
    select province, cast(date_trunc('month', cast(due_date as timestamp)) as date) as month,
           sum(principal_outstanding) as total,
           sum(principal_outstanding) filter (where status = 'overdue') as overdue,
           round(coalesce(sum(principal_outstanding) filter (where status = 'overdue'), 0)
                 / nullif(sum(principal_outstanding), 0)::numeric, 4) as rate,
           count(*)
    from testloans_installments
    where tenant_id = :tenant {scope}
    group by province, month
    order by province, month
"""
UNIT_SCOPE = "and (org_unit_id = any(cast(:units as uuid[])) or owner_id = :user)"


def by_hand(app: Any, firm: Firm, viewer: uuid.UUID | None) -> list[tuple[Any, ...]]:
    """The hand-written query: every installment (``viewer`` None), or the unit scope of
    ``viewer``, through the same role and session set-up."""
    from loandesk.tenancy import use

    statement = text(BASELINE.format(scope=UNIT_SCOPE if viewer else "")).bindparams(
        bindparam("tenant", type_=Uuid)
    )
    params: dict[str, Any] = {"tenant": firm.tenant.id}
    if viewer:
        statement = statement.bindparams(bindparam("user", type_=Uuid))
        params |= {"units": firm.watched, "user": viewer}
    db = app.extensions["loandesk"].db
    with app.app_context(), use(firm.tenant):
        try:
            return [tuple(r) for r in db.session.execute(statement, params)]
        finally:
            db.session.remove()


def comparable(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The baseline's rows as the report gives them (money in yuan, dates and rates as
    text)."""
    return [
        (province, month.isoformat(), _yuan(total), _yuan(overdue),
         None if rate is None else str(rate), count)
        for province, month, total, overdue, rate, count in rows
    ]  # fmt: skip


def _yuan(minor: int | None) -> str | None:
    return None if minor is None else str(Decimal(minor).scaleb(-2))


def timed(runs: int, **ways: Callable[[], Any]) -> dict[str, float]:
    """The median seconds of each way over ``runs`` runs, alternating, after one warm-up."""
    times: dict[str, list[float]] = {name: [] for name in ways}
    for way in ways.values():
        way()
    for _ in range(runs):
        for name, way in ways.items():
            started = time.perf_counter()
            way()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(found) for name, found in times.items()}


def explain(app: Any, firm: Firm, viewer: uuid.UUID) -> None:
    """EXPLAIN ANALYZE of the report's query (as compiled for ``viewer``) and the
    baseline's."""
    from flask import g

    from loandesk.auth.models import User
    from loandesk.reports import service
    from loandesk.tenancy import use

    db = app.extensions["loandesk"].db
    with app.test_request_context(), use(firm.tenant):
        try:
            g.user = db.session.get(User, (firm.tenant.id, viewer))
            _catalog, compiled = service._compiled(SPEC)
            query = compiled.statement.compile(
                dialect=db.session.get_bind().dialect,
                compile_kwargs={"render_postcompile": True},
            )
            plan = db.session.connection().exec_driver_sql(
                f"EXPLAIN (ANALYZE, BUFFERS) {query}", query.params
            )
            print("report engine:", query, *(r[0] for r in plan), sep="\n")
        finally:
            db.session.remove()
    scoped = viewer == firm.risk
    statement = text(
        f"EXPLAIN (ANALYZE, BUFFERS) {BASELINE.format(scope=UNIT_SCOPE if scoped else '')}"
    ).bindparams(bindparam("tenant", type_=Uuid))
    params: dict[str, Any] = {"tenant": firm.tenant.id}
    if scoped:
        statement = statement.bindparams(bindparam("user", type_=Uuid))
        params |= {"units": firm.watched, "user": viewer}
    with app.app_context(), use(firm.tenant):
        try:
            plan = db.session.execute(statement, params)
            print("hand-written:", *(r[0] for r in plan), sep="\n")
        finally:
            db.session.remove()


def sizes(app: Any, firm: Firm) -> tuple[int, int, str]:
    """Installments, overdue ones, and the table's size with its indexes."""
    from loandesk.tenancy import use

    db = app.extensions["loandesk"].db
    with app.app_context(), use(firm.tenant), db.transaction() as session:
        row = session.execute(
            text(
                "select count(*), count(*) filter (where status = 'overdue'), "
                "pg_size_pretty(pg_total_relation_size('testloans_installments')) "
                "from testloans_installments"
            )
        ).one()
        return int(row[0]), int(row[1]), str(row[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--installments", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--json", metavar="PATH", help="also write the result rows as JSON")
    args = parser.parse_args()
    rng = random.Random(20261207)  # noqa: S311 (test data, not secrets)
    with Database(args.postgres) as database, tempfile.TemporaryDirectory() as folder:
        install_testloans(Path(folder))
        settings = Settings(
            database_url=database.app_url,
            migration_database_url=database.owner_url,
            instance_path=Path(folder),
        )
        migrate.upgrade(settings, plugin_folders())
        app = create_app(settings)
        try:
            print(f"setting up {args.installments:,} installments …", flush=True)
            started = time.perf_counter()
            firm = setup_firm(app)
            load(database, installments(args.installments, firm, rng))
            print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
            count, overdue, size = sizes(app, firm)
            results = {}
            for name, viewer, scope in (
                ("all", firm.finance, None),
                ("unit", firm.risk, firm.risk),
            ):
                report = by_engine(app, firm, viewer)
                baseline = comparable(by_hand(app, firm, scope))
                if report != baseline:
                    differ = [(r, b) for r, b in zip(report, baseline, strict=False) if r != b]
                    raise SystemExit(
                        f"scope {name}: the report gives {len(report)} rows, the hand-written "
                        f"SQL {len(baseline)}; first differences: {differ[:3]}"
                    )
                if args.explain:
                    explain(app, firm, viewer)
                medians = timed(
                    args.runs,
                    engine=partial(by_engine, app, firm, viewer),
                    hand=partial(by_hand, app, firm, scope),
                )
                results[name] = (len(report), sum(r[-1] for r in report), medians)
        finally:
            app.extensions["loandesk"].db.dispose()
    print(f"installments: {count:,} ({overdue:,} overdue, {overdue / count:.1%}); "
          f"table with indexes: {size}")  # fmt: skip
    print("report: overdue rate by province × due month (outstanding, overdue, rate, count);")
    print(f"  the same rows from the engine and the hand-written SQL; median of {args.runs} runs")
    found: list[Row] = []
    for name, label in (("all", "finance, scope all"), ("unit", f"risk manager, {WATCHED} unit")):
        groups, rows, medians = results[name]
        engine, hand = medians["engine"], medians["hand"]
        print(f"{label}: {groups} groups over {rows:,} installments")
        print(f"  report engine (service.run, acting user):  {engine * 1000:8.1f} ms")
        print(f"  hand-written SQL (same role, same RLS):     {hand * 1000:8.1f} ms")
        print(f"  ratio engine / hand-written: {engine / hand:.2f}x")
        found.append(Row("report_overdue", f"report, scope {name}, {count:,} inst.",
                        engine * 1000, "ms", "hand-written SQL", hand * 1000, engine / hand,
                        "engine / SQL", GOAL))  # fmt: skip
    write_rows(args.json, found)


if __name__ == "__main__":
    main()
