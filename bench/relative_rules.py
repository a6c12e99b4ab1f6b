"""One day's run of time-relative rules on PostgreSQL: 10,000 rules over 100,000 installments,
against one SQL query selecting the same (rule, installment) pairs in the same run.

Set-up (not timed): a tenant with the ``testloans`` plugin (the test-only installments, until
the servicing plugins exist; pip-installed into a temporary folder as the tests do) and
N installments, bulk-inserted: loans of 12 monthly installments, each loan one amount drawn
from a log-normal distribution (median ¥3,000, a long tail to ¥200,000, Decimal), due dates
uniform over the year around the day of the run (always on the 1st to 28th of a month), 20 %
paid at random.

M relative rules on ``test_installment.due_date``, all enabled, each a to-do for the post-loan
admin (the seed rule's action). The mix:

* day offsets uniform over -7..-1 (reminders before the due date) and +1..+30 (overdue
  follow-ups), at 09:00 (40 %), 10:00 (30 %), 14:00 (20 %) or 16:30 (10 %): 148 groups
  (field, offset, time), one query each;
* conditions, all on unpaid installments of large amounts, so a modest share holds (1.6 %
  of the (rule, installment) pairs looked at; printed): ``status == "due" and amount >= N``
  (70 %),
  ``status == "due" and period <= P and amount >= N`` (20 %, P 1..3: the first installments
  of a large loan) and ``status == "due" and amount >= N and amount < N + 5000`` (10 %),
  N from 10,000 to 30,000 by 500.

The first 40 rules are saved through ``automations.service.create`` (audited); the others
are checked by the same ``rules.parse`` and bulk-inserted as the service would save them
(without the audit events). The **run** is ``relative.run`` for the day at 18:00 tenant time
(after every rule's time): a query per group, each distinct condition decided once per
installment, the firings inserted (not run: that is ``core.run_firings``). The **baseline** is
one SELECT of the same (rule, installment) pairs: the rules' dates and conditions written as
SQL (from the parameters the rules were made from, not from the rules), over the same table,
role and row-level security. The script checks that the firings are exactly those pairs (and
each one's occurrence the due date), that a second run the same day records none, and that
neither does one after the rules' ``checked_on`` is forgotten (the firings' unique key).

    .venv/bin/python bench/relative_rules.py --rules 10000 --installments 100000
"""

from __future__ import annotations

import argparse
import math
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from common import Database, admin_password, plugin_folders
from results import Row, write_rows
from sqlalchemy import text

from loandesk import migrate
from loandesk.app import create_app
from loandesk.settings import Settings

LOANS_FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "platform" / "loans_fixture"
DAY = date(2026, 12, 7)  # the seed rule's test day
EVENING = datetime(2026, 12, 7, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
OFFSETS = (*range(-7, 0), *range(1, 31))
TIMES = (("09:00", 4), ("10:00", 3), ("14:00", 2), ("16:30", 1))
PERIODS = 12
SAVED = 40  # rules saved through the service; the rest bulk-inserted
CHUNK = 5000


@dataclass(frozen=True)
class Spec:
    """A rule's parameters: the condition is made from them, and so is the baseline's SQL."""

    days: int
    at: str
    floor: int
    max_period: int | None = None
    ceiling: int | None = None

    @property
    def condition(self) -> str:
        parts = ['status == "due"']
        if self.max_period is not None:
            parts.append(f"period <= {self.max_period}")
        parts.append(f"amount >= {self.floor}")
        if self.ceiling is not None:
            parts.append(f"amount < {self.ceiling}")
        return " and ".join(parts)


def specs(count: int, rng: random.Random) -> list[Spec]:
    times = [at for at, weight in TIMES for _ in range(weight)]
    made = []
    for _ in range(count):
        days, at, floor = rng.choice(OFFSETS), rng.choice(times), rng.randrange(10_000, 30_001, 500)
        shape = rng.random()
        if shape < 0.7:
            made.append(Spec(days, at, floor))
        elif shape < 0.9:
            made.append(Spec(days, at, floor, max_period=rng.randint(1, 3)))
        else:
            made.append(Spec(days, at, floor, ceiling=floor + 5000))
    return made


def installments(count: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """Installments due within half a year either side of ``DAY`` (uniformly): those of loans
    of 12 monthly installments that fall in that year."""
    first, last = DAY - timedelta(days=182), DAY + timedelta(days=182)
    made = loan = 0
    while made < count:
        loan += 1
        start = first + timedelta(days=rng.randint(-335, 364))  # 11 months before to last
        start = start.replace(day=rng.randint(1, 28))
        yuan = min(200_000.0, max(300.0, rng.lognormvariate(math.log(3000), 0.9)))
        amount = Decimal(round(yuan * 100)).scaleb(-2)
        for period in range(1, PERIODS + 1):
            month = start.month - 1 + period - 1
            due = start.replace(year=start.year + month // 12, month=month % 12 + 1)
            if first <= due <= last and made < count:
                made += 1
                yield {
                    "loan_number": f"JJ{loan:08d}",
                    "period": period,
                    "due_date": due,
                    "amount": amount,
                    "status": "paid" if rng.random() < 0.2 else "due",
                }


def install_testloans(folder: Path) -> None:
    """The ``testloans`` distribution pip-installed into ``folder`` and put on sys.path, so
    the app created next finds it through its entry point (as tests/conftest.py does)."""
    subprocess.run(  # noqa: S603 (our own interpreter, our own fixture)
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--target", str(folder / "site"), str(LOANS_FIXTURE)],
        check=True, capture_output=True, cwd=folder,
    )  # fmt: skip
    sys.path.insert(0, str(folder / "site"))


def setup(app: Any, count: int, rng: random.Random) -> Any:
    """The tenant with ``testloans`` enabled and its installments; the tenant."""
    from loandesk_testloans.models import TestInstallment
    from sqlalchemy import insert

    from loandesk.plugins import runtime
    from loandesk.plugins import service as plugins
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
        tenant, admin = signed.tenant, signed.admin
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
        ref, owner, unit = tenant.ref(), admin.id, admin.org_unit_id
    rows = installments(count, rng)
    with app.app_context(), use(ref):
        while chunk := list(islice(rows, CHUNK)):
            with db.transaction() as session:
                session.execute(
                    insert(TestInstallment),
                    [{**r, "tenant_id": ref.id, "owner_id": owner, "org_unit_id": unit}
                     for r in chunk],
                )  # fmt: skip
        with db.transaction() as session:
            session.execute(text("analyze testloans_installments"))
    return ref


def save_rules(app: Any, tenant: Any, made: list[Spec]) -> list[uuid.UUID]:
    """The rules, in ``made``'s order: the first ``SAVED`` through the service, the others
    checked by ``rules.parse`` and inserted as the service would save them."""
    from sqlalchemy import insert

    from loandesk.automations import rules, service
    from loandesk.automations.models import AutomationRule
    from loandesk.db import utcnow, uuid7
    from loandesk.fields.forms import published_form
    from loandesk.plugins import runtime
    from loandesk.tenancy import use

    db = app.extensions["loandesk"].db
    ids: list[uuid.UUID] = []
    with app.test_request_context(), use(tenant), db.transaction() as session:
        declared = runtime.record_type("test_installment")
        form = published_form(session, declared)
        types = app.extensions["loandesk.events"].types
        events = rules.event_types_for("test_installment", False, types)
        actions = runtime.automation_actions()
        rows = []
        for number, spec in enumerate(made):
            data = _rule_data(number, spec)
            if number < SAVED:
                ids.append(service.create(session, data, form, types, actions, user_id=None).id)
                continue
            rule = rules.parse(data, form, events, actions, session)
            ids.append(uuid7())
            rows.append(
                {
                    "tenant_id": tenant.id,
                    "id": ids[-1],
                    "name": rule.name,
                    "record_type": rule.record_type,
                    "trigger_key": rule.trigger_key,
                    "trigger": rule.trigger,
                    "condition": rule.condition.text if rule.condition else "",
                    "actions": list(rule.actions),
                    "enabled": rule.enabled,
                    "version": 1,
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                }
            )
        for start in range(0, len(rows), CHUNK):
            session.execute(insert(AutomationRule), rows[start : start + CHUNK])
    return ids


def _rule_data(number: int, spec: Spec) -> dict[str, Any]:
    when = f"到期前{-spec.days}天" if spec.days < 0 else f"逾期{spec.days}天"
    return {
        "name": f"{number:05d} {when} {spec.at} 大额提醒",
        "record_type": "test_installment",
        "trigger": {"kind": "relative", "field": "due_date", "days": spec.days, "at": spec.at},
        "condition": spec.condition,
        "actions": [
            {
                "type": "create_todo",
                "title": "借据 {{ loan_number }} 第 {{ period }} 期 {{ amount }} 元"
                "应还日 {{ due_date }}",
                "assignee": {"kind": "role", "role": "post_loan_admin"},
                "due": {"field": "due_date", "days": 0},
            }
        ],
    }


def run_rules(app: Any, tenant: Any) -> int:
    from loandesk.automations import relative
    from loandesk.plugins import runtime
    from loandesk.tenancy import use

    db = app.extensions["loandesk"].db
    with app.app_context(), use(tenant):
        session = db.session()
        try:
            types = {t.key: t for t in runtime.record_types()}
            return relative.run(session, types, tenant.timezone, EVENING)
        finally:
            db.session.remove()


PAIRS = text(
    """
    select r.rule_id, i.id, i.due_date
    from unnest(cast(:rules as uuid[]), cast(:dates as date[]), cast(:floors as bigint[]),
                cast(:periods as integer[]), cast(:ceilings as bigint[]))
         as r(rule_id, due_date, floor, max_period, ceiling)
    join testloans_installments i on i.tenant_id = :tenant and i.due_date = r.due_date
    where i.status = 'due' and i.amount >= r.floor
      and (r.max_period is null or i.period <= r.max_period)
      and (r.ceiling is null or i.amount < r.ceiling)
    """
)
CANDIDATES = text(
    """
    select due_date, count(*), count(*) filter (where status = 'due') from testloans_installments
    where tenant_id = :tenant and due_date = any(cast(:dates as date[])) group by due_date
    """
)


Firing = tuple[str, str, str]  # rule, record, occurrence (the due date)


def pairs(app: Any, tenant: Any, ids: list[uuid.UUID], made: list[Spec]) -> set[Firing]:
    """The baseline: the (rule, installment) pairs due today, with the installment's due
    date, in one query."""
    from loandesk.tenancy import use

    params = {
        "tenant": tenant.id,
        "rules": ids,
        "dates": [DAY - timedelta(days=s.days) for s in made],
        "floors": [s.floor * 100 for s in made],  # amounts are stored in fen (sdk.Money)
        "periods": [s.max_period for s in made],
        "ceilings": [None if s.ceiling is None else s.ceiling * 100 for s in made],
    }
    with app.app_context(), use(tenant), app.extensions["loandesk"].db.transaction() as session:
        found = session.execute(PAIRS, params)
        return {(str(rule), str(record), due.isoformat()) for rule, record, due in found}


def candidates(app: Any, tenant: Any) -> dict[date, tuple[int, int]]:
    """Per date a rule looks at: how many installments fall due, and how many are unpaid."""
    from loandesk.tenancy import use

    dates = [DAY - timedelta(days=days) for days in OFFSETS]
    with app.app_context(), use(tenant), app.extensions["loandesk"].db.transaction() as session:
        found = session.execute(CANDIDATES, {"tenant": tenant.id, "dates": dates})
        return {due: (int(count), int(unpaid)) for due, count, unpaid in found}


def firings(app: Any, tenant: Any) -> set[Firing]:
    from sqlalchemy import select

    from loandesk.automations.models import RuleFiring
    from loandesk.tenancy import use

    with app.app_context(), use(tenant), app.extensions["loandesk"].db.transaction() as session:
        found = session.execute(
            select(RuleFiring.rule_id, RuleFiring.record_id, RuleFiring.occurrence)
        )
        return {(str(rule), record, occurrence) for rule, record, occurrence in found}


def look_again(app: Any, tenant: Any) -> None:
    """Forget that the rules were looked at today (as after a restore, or a scheduler that
    missed the commit): only the firings' unique key then keeps them from firing twice."""
    from sqlalchemy import update

    from loandesk.automations.models import AutomationRule
    from loandesk.tenancy import use

    with app.app_context(), use(tenant), app.extensions["loandesk"].db.transaction() as session:
        session.execute(update(AutomationRule).values(checked_on=None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--installments", type=int, default=100_000)
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
            print(
                f"setting up {args.installments:,} installments, {args.rules:,} rules …", flush=True
            )
            tenant = setup(app, args.installments, rng)
            made = specs(args.rules, rng)
            ids = save_rules(app, tenant, made)
            per_day = candidates(app, tenant)
            started = time.perf_counter()
            fired = run_rules(app, tenant)
            ran = time.perf_counter() - started
            started = time.perf_counter()
            expected = pairs(app, tenant, ids, made)
            selected = time.perf_counter() - started
            recorded = firings(app, tenant)
            again = run_rules(app, tenant)
            look_again(app, tenant)
            started = time.perf_counter()
            forced = run_rules(app, tenant)
            reran = time.perf_counter() - started
        finally:
            app.extensions["loandesk"].db.dispose()
    assert recorded == expected, f"{len(recorded)} firings recorded, {len(expected)} pairs due"
    assert fired == len(expected), f"the run said {fired}, {len(expected)} pairs are due"
    assert again == 0, f"the second run recorded {again}"
    assert forced == 0, f"the run with the rules' checks forgotten recorded {forced}"
    groups = len({(s.days, s.at) for s in made})
    reminded = len({record for _rule, record, _due in expected})
    due, unpaid = (sum(c[i] for c in per_day.values()) for i in (0, 1))
    looked = sum(per_day.get(DAY - timedelta(days=s.days), (0, 0))[0] for s in made)
    print(f"rules: {args.rules:,} relative rules in {groups} groups (field, offset, time)")
    print(f"installments: {args.installments:,}; due on one of the rules' {len(OFFSETS)} dates: "
          f"{due:,} ({unpaid:,} unpaid), {reminded:,} of them with a firing")  # fmt: skip
    print(f"(rule, installment) pairs looked at: {looked:,}; the condition holds for {fired:,} "
          f"({fired / looked:.1%}) = firings recorded = the baseline pairs")  # fmt: skip
    print(f"second run the same day: {again} new; again with the rules' checks forgotten: "
          f"{forced} new (the unique key; {reran:.1f} s)")  # fmt: skip
    print("baseline: one SELECT of the same (rule, installment) pairs, i.e. with each rule's")
    print("  condition (status, amount, period) and date as SQL; nothing written")
    print(f"relative.run (one day, firings inserted):        {ran:7.2f} s")
    print(f"one SELECT of the same (rule, installment) pairs: {selected:7.2f} s")
    print(f"ratio relative.run / SELECT: {ran / selected:,.1f}x")
    write_rows(args.json, [
        Row("relative_rules", f"relative.run, {args.rules:,} rules x {args.installments:,}",
            ran, "s", "one SELECT", selected, ran / selected, "run / SELECT"),
    ])  # fmt: skip


if __name__ == "__main__":
    main()
