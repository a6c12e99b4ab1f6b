"""Close of business (日终) for 100,000 loans over 100 tenants on PostgreSQL, against one
hand-written set-based UPDATE that only marks overdue installments, in the same run.

Set-up (not timed): T tenants signed up with customers and repayment enabled, each with one
customer, an own funder and three product versions (penalty 18 % a year on overdue principal;
24.37 % on principal + interest with 3 grace days, actual/365; none). L loans per tenant COPYed
in as the superuser (PostgreSQL refuses COPY FROM under row-level security), active, paid out
on a day of the 400 before the business date, 12 monthly installments each (principal in equal
parts, 1 % interest a month on the opening balance, a 10.00 fee); 80 % of the loans pay every
installment due, 20 % stop at a period drawn uniformly, so their later installments are
overdue by 1 to 360+ days. Funders' shares: one row per loan (100 %).

**Close of business** is ``cob.run_cob`` for the business date, tenant after tenant, as the
job runs it, the day after a first run (not timed, printed: it finds every overdue
installment new and emits its event, as a first run after go-live does): the app role
under row-level security, the tenant current, chunks of 500 loans,
each chunk locked, its statements, ledger lines, events, audit and checkpoint committed.
**Baseline**: one UPDATE of ``repayment_installments`` over every tenant at once that sets
``days_past_due`` of the unpaid installments due before the date (the superuser: no RLS, no
chunks), run in a transaction rolled back, after a warm-up. The script checks that every
loan with work on the date reached it, that every active loan's DPD (taken or not) is its
oldest unpaid installment's, and that a second run changes nothing, and prints both times,
their ratio and loans per second.

    .venv/bin/python bench/cob.py                                  # 100 tenants × 1,000 loans
    .venv/bin/python bench/cob.py --tenants 10 --loans 500          # a quick run
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from common import Database, plugin_folders
from results import Goal, Row, write_rows

from loandesk import migrate
from loandesk.app import create_app
from loandesk.db import uuid7
from loandesk.finance import (
    DayCount,
    Frequency,
    Method,
    Penalty,
    PenaltyBase,
    ProductTerms,
    codec,
)
from loandesk.settings import Settings

GOAL = Goal("issue 11", "<", 5)
DAY = date(2026, 11, 30)
PERIODS = 12


def products() -> list[dict[str, Any]]:
    base: dict[str, Any] = {
        "version": 1,
        "name": "压测产品",
        "min_amount": Decimal("1000.00"),
        "max_amount": Decimal("500000.00"),
        "min_periods": 3,
        "max_periods": 36,
        "annual_rate": Decimal("0.12"),
        "frequency": Frequency.MONTHLY,
        "method": Method.EQUAL_PRINCIPAL,
    }
    made = [
        ProductTerms(product_id=uuid7(), code="P1", **base,
                     penalty=Penalty(Decimal("0.18"), PenaltyBase.OVERDUE_PRINCIPAL)),
        ProductTerms(product_id=uuid7(), code="P2", **{**base, "day_count": DayCount.ACTUAL_365},
                     penalty=Penalty(Decimal("0.2437"),
                                     PenaltyBase.OVERDUE_PRINCIPAL_AND_INTEREST, grace_days=3)),
        ProductTerms(product_id=uuid7(), code="P3", **base),
    ]  # fmt: skip
    return [codec.to_dict(p) for p in made]


def setup_tenants(app: Any, count: int) -> list[dict[str, Any]]:
    """``count`` tenants with customers and repayment, one customer and one own funder each."""
    from loandesk_customers.models import Customer
    from loandesk_repayment.models import Funder

    from loandesk.plugins import runtime
    from loandesk.plugins import service as plugins
    from loandesk.tenancy import service, use

    db = app.extensions["loandesk"].db
    made = []
    for number in range(count):
        with app.test_request_context(), db.transaction() as session:
            signed = service.sign_up(
                session,
                name=f"压测小贷{number}",
                slug=f"bench{number}",
                admin_email=f"admin@bench{number}.example.cn",
                admin_password=f"Bench-{secrets.token_hex(8)}-Aa1!",
            )
            tenant, admin = signed.tenant, signed.admin
            with use(tenant.ref()):
                for name in ("customers", "repayment"):
                    plugins.set_enabled(
                        session, runtime.host(), tenant_id=tenant.id, name=name, enabled=True,
                        acting_user_id=None,
                    )  # fmt: skip
                    session.flush()
                customer = Customer(
                    name="借款人", status="active", owner_id=admin.id, org_unit_id=admin.org_unit_id
                )
                funder = Funder(code="OWN", name="自有资金", kind="own", active=True)
                session.add_all([customer, funder])
                session.flush()
            made.append(
                {
                    "ref": tenant.ref(),
                    "id": tenant.id,
                    "admin": admin.id,
                    "unit": admin.org_unit_id,
                    "customer": customer.id,
                    "funder": funder.id,
                }
            )
    return made


def _month(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, min(day.day, 28))


def rows(
    tenants: list[dict[str, Any]], per_tenant: int, rng: random.Random
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(table, row) for loans, their funder share and installments."""
    now = datetime.now(UTC)
    for tenant in tenants:
        terms = products()
        for n in range(per_tenant):
            loan_id = uuid7()
            product = terms[n % 3]
            principal = rng.randint(3_000, 60_000) * 100  # 分
            disbursed = DAY - timedelta(days=rng.randint(31, 400))
            stops = rng.randint(1, PERIODS) if rng.random() < 0.2 else None
            yield "repayment_loans", (
                tenant["id"], loan_id, f"DK{n:013d}", tenant["customer"], product["product_id"],
                1, json.dumps(product), json.dumps({}), principal, PERIODS, "active",
                disbursed, "0.12", 0, 0, tenant["admin"], tenant["unit"], now, "{}",
            )  # fmt: skip
            yield "repayment_loan_funders", (
                tenant["id"], uuid7(), loan_id, tenant["funder"], 1_000_000,
            )  # fmt: skip
            left = principal
            part = principal // PERIODS
            for k in range(1, PERIODS + 1):
                due = _month(disbursed, k)
                principal_due = part if k < PERIODS else principal - part * (PERIODS - 1)
                interest_due = left // 100
                left -= principal_due
                paid = due < DAY and (stops is None or k < stops)
                amounts = (principal_due, interest_due, 1000, 0)
                paid_amounts = amounts if paid else (0, 0, 0, 0)
                yield "repayment_installments", (
                    tenant["id"], uuid7(), loan_id, k, _month(disbursed, k - 1), due,
                    *amounts, *paid_amounts, "paid" if paid else "pending",
                    due if paid else None, False, f"DK{n:013d}", tenant["customer"],
                    tenant["admin"], tenant["unit"], product["code"], "{}",
                )  # fmt: skip


COLUMNS = {
    "repayment_loans": (
        "tenant_id, id, number, customer_id, product_id, product_version, product_terms, terms, "
        "principal, periods, status, disbursed_on, annual_rate_irr, credit_balance, version, "
        "owner_id, org_unit_id, created_at, custom"
    ),
    "repayment_loan_funders": "tenant_id, id, loan_id, funder_id, share",
    "repayment_installments": (
        "tenant_id, id, loan_id, number, period_start, due_date, principal_due, interest_due, "
        "fees_due, penalty_due, principal_paid, interest_paid, fees_paid, penalty_paid, status, "
        "paid_on, superseded, loan_number, customer_id, owner_id, org_unit_id, product_code, custom"
    ),
}


def load(database: Database, tenants: list[dict[str, Any]], per_tenant: int) -> None:
    rng = random.Random(20261130)  # noqa: S311 (test data)
    buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
    for table, row in rows(tenants, per_tenant, rng):
        buffers[table].append(row)
    with psycopg.connect(database.superuser_url) as connection:
        with connection.cursor() as cursor:
            for table in COLUMNS:
                with cursor.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
                    for row in buffers[table]:
                        copy.write_row(row)
        for table in COLUMNS:
            connection.execute(f"ANALYZE {table}")


BASELINE = """
update repayment_installments
   set days_past_due = %(day)s::date - due_date
 where due_date < %(day)s::date and not superseded
   and principal_due - principal_paid + interest_due - interest_paid + fees_due - fees_paid
       + penalty_due - penalty_paid > 0
"""


def baseline(database: Database) -> tuple[float, int]:
    """The hand-written UPDATE, timed, rolled back (so close of business finds the same)."""
    with psycopg.connect(database.superuser_url) as connection:
        started = time.perf_counter()
        cursor = connection.execute(BASELINE, {"day": DAY})
        took = time.perf_counter() - started
        count = cursor.rowcount
        connection.rollback()
    return took, count


class Profile:
    """Each statement's count and time, grouped by its first words (``--profile``)."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.started: list[float] = []

    def attach(self, engine: Any) -> None:
        from sqlalchemy import event

        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)

    def detach(self, engine: Any) -> None:
        from sqlalchemy import event

        event.remove(engine, "before_cursor_execute", self.before)
        event.remove(engine, "after_cursor_execute", self.after)

    def before(self, *args: Any) -> None:
        self.started.append(time.perf_counter())

    def after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        took = time.perf_counter() - self.started.pop()
        key = " ".join(statement.split())[:90]
        self.times.setdefault(key, []).append(took)

    def print(self, tenants: int) -> None:
        rows = sorted(self.times.items(), key=lambda kv: -sum(kv[1]))
        total = sum(sum(v) for v in self.times.values())
        count = sum(len(v) for v in self.times.values())
        print(f"statements per tenant: {count / tenants:.1f}, "
              f"{1000 * total / tenants:.1f} ms in the database per tenant")  # fmt: skip
        for key, took in rows[:25]:
            print(f"  {1000 * sum(took) / tenants:6.1f} ms  {len(took) / tenants:5.1f}×  {key}")


def vacuum(database: Database) -> None:
    """``VACUUM ANALYZE`` of the tables both sides read and write, so that each is timed on
    the same clean tables: not paying for the dead row versions the one before left (the
    first run's, the baseline's rolled back UPDATE), as autovacuum would have cleared them."""
    with psycopg.connect(database.superuser_url, autocommit=True) as connection:
        for table in ("repayment_installments", "repayment_loans", "repayment_ledger"):
            connection.execute(f"VACUUM ANALYZE {table}")


def close_of_business(
    app: Any, tenants: list[dict[str, Any]], day: date = DAY, profile: Profile | None = None
) -> tuple[float, list[Any]]:
    from loandesk_repayment import cob

    from loandesk.tenancy import use

    db = app.extensions["loandesk"].db
    if profile is not None:
        profile.attach(db.engine)
    done = []
    started = time.perf_counter()
    for tenant in tenants:
        with app.app_context(), use(tenant["ref"]):
            session = db.session()
            try:
                done.append(cob.run_cob(session, day))
            finally:
                db.session.remove()
    took = time.perf_counter() - started
    if profile is not None:
        profile.detach(db.engine)
    return took, done


def check(database: Database) -> dict[str, Any]:
    with psycopg.connect(database.superuser_url) as connection:
        # loans with work on the date (an installment owed and due by then, one still
        # counting days, arrears on the loan) that close of business did not bring to it
        behind = connection.execute(
            "select count(*) from repayment_loans l where status = 'active' "
            "and (cob_date is null or cob_date < %s) and (days_past_due <> 0 "
            "or overdue_amount <> 0 or exists (select 1 from repayment_installments i "
            "where i.tenant_id = l.tenant_id and i.loan_id = l.id and not i.superseded "
            "and ((i.status <> 'paid' and i.due_date <= %s) or i.days_past_due <> 0)))",
            (DAY, DAY),
        ).fetchone()
        # every active loan (taken or not): its stored DPD is its oldest unpaid installment's
        wrong = connection.execute(
            "select count(*) from repayment_loans l left join (select tenant_id, loan_id, "
            "max(%s::date - due_date) as dpd from repayment_installments where not superseded "
            "and status <> 'paid' and due_date < %s group by tenant_id, loan_id) o "
            "on o.tenant_id = l.tenant_id and o.loan_id = l.id "
            "where l.status = 'active' and l.days_past_due <> coalesce(o.dpd, 0)",
            (DAY, DAY),
        ).fetchone()
        buckets: dict[str, int] = dict(
            connection.execute(
                "select bucket, count(*) from repayment_loans group by bucket order by bucket"
            ).fetchall()
        )
        penalty = connection.execute(
            "select coalesce(sum(debit), 0) from repayment_ledger where event = 'penalty'"
        ).fetchone()
        lines = connection.execute("select count(*) from repayment_ledger").fetchone()
        counts = connection.execute(
            "select count(*), count(*) filter (where days_past_due > 0) from repayment_installments"
        ).fetchone()
    assert behind and wrong and penalty and lines and counts
    return {
        "behind": behind[0],
        "wrong": wrong[0],
        "buckets": buckets,
        "penalty": Decimal(penalty[0]) / 100,
        "lines": lines[0],
        "installments": counts[0],
        "overdue": counts[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--loans", type=int, default=1_000, help="loans per tenant")
    parser.add_argument(
        "--profile", action="store_true", help="time each statement of the timed run (slower)"
    )
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--json", metavar="PATH", help="also write the result rows as JSON")
    args = parser.parse_args()
    with Database(args.postgres) as database, tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=database.app_url,
            migration_database_url=database.owner_url,
            instance_path=Path(folder),
        )
        migrate.upgrade(settings, plugin_folders())
        app = create_app(settings)
        try:
            total = args.tenants * args.loans
            print(f"setting up {args.tenants} tenants × {args.loans:,} loans …", flush=True)
            started = time.perf_counter()
            tenants = setup_tenants(app, args.tenants)
            load(database, tenants, args.loans)
            print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
            first, _ = close_of_business(app, tenants, DAY - timedelta(days=1))
            baseline(database)  # warm-up
            vacuum(database)
            hand, marked = baseline(database)
            vacuum(database)
            profile = Profile() if args.profile else None
            took, runs = close_of_business(app, tenants, profile=profile)
            found = check(database)
            before = found["lines"]
            again, _ = close_of_business(app, tenants)
            assert check(database) == found, "a second run for the date changed something"
        finally:
            app.extensions["loandesk"].db.dispose()
    assert found["behind"] == 0, f"{found['behind']} loans with work did not reach {DAY}"
    assert found["wrong"] == 0, f"{found['wrong']} active loans' DPD is not their installments'"
    taken = sum(r.loans_done for r in runs)
    print(f"loans: {total:,} over {args.tenants} tenants; installments: "
          f"{found['installments']:,}, overdue on {DAY}: {found['overdue']:,}")  # fmt: skip
    print(f"buckets: {found['buckets']}; penalty posted: ¥{found['penalty']:,.2f}; "
          f"ledger lines: {before:,}")  # fmt: skip
    print(f"first run ({DAY - timedelta(days=1)}: every overdue installment new, catch-up "
          f"from disbursement): {first:.1f} s, {total / first:,.0f} loans/s")  # fmt: skip
    print(f"second run for the date: nothing changed ({again:.1f} s)")
    print(f"loans with work on {DAY} (taken): {taken:,} of {total:,}; every active loan's "
          "DPD equals its installments'")  # fmt: skip
    print(f"close of business (cob.run_cob per tenant):      {took:8.2f} s   "
          f"{total / took:>9,.0f} loans/s")  # fmt: skip
    print(f"one UPDATE marking overdue installments ({marked:,}): {hand:8.2f} s   "
          f"{total / hand:>9,.0f} loans/s")  # fmt: skip
    print(f"ratio close of business / UPDATE: {took / hand:.1f}x")
    write_rows(args.json, [
        Row("cob", f"close of business, {total:,} loans", total / took, "loans/s",
            "one UPDATE", total / hand, took / hand, "COB / UPDATE", GOAL),
    ])  # fmt: skip
    if profile is not None:
        print("(--profile: the timed run's statements were timed too)")
        profile.print(args.tenants)


if __name__ == "__main__":
    main()
