"""The demo tenant's history (``loandesk demo``): 18 months of a consumer-finance firm up to
the tenant's business date, deterministic from a seed.

Everything is written through the plugins' service functions, in the order it would have
happened, so balances, the loan ledger, the audit chain and events stay consistent: borrowers
(``customers.create_customers``, an import's path), products, channels and leads; applications
created (or converted from a lead), filled in with due diligence, submitted into the approval
flow and approved, rejected or sent back and submitted again by the staff the flow names;
loans booked from approved applications, marked contracted and paid out; then month by month
the borrowers' payments (on time, early, late, partly, or not at all) and close of business at
each month's end (``cob.run_cob``: the set-based bulk path, which posts penalty interest,
counts days past due and hands overdue loans to the collection queues); collectors' calls and
promises on the open cases; the asset classes, and a write-off approved by the risk manager.

Times: business dates (disbursement, due dates, payments, close of business) are the
history's own. Flow steps take their past times from the services' ``now``; the created and
submitted times of customers and applications are set to their day of the history once made
(their audit events, like all audit events, keep the time the demo was generated).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, type_coerce, update
from sqlalchemy.orm import Session

from loandesk.demo import people
from loandesk.demo.staff import OFFICERS, STAFF

MONTHS = 18
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Size:
    customers: int
    loans: int


# Every loan goes through the services (its application and approvals, booking, each
# payment): on SQLite about 0.3 s of one core per loan at small, growing with the history
# (over 1 s per loan after a year at default): default takes about half an hour.
SIZES = {
    "small": Size(customers=200, loans=100),
    "default": Size(customers=3000, loans=1000),
    "large": Size(customers=10000, loans=6000),
}

# The firm's products: code, name, rate, terms in months, amounts, penalty.
PRODUCTS = (
    ("XF-GX", "工薪贷", "0.18", (6, 12, 24), (5000, 50000)),
    ("XF-XF", "消费分期", "0.15", (3, 6, 12), (2000, 30000)),
    ("XF-YZ", "业主贷", "0.12", (12, 24, 36), (50000, 200000)),
)
CHANNELS = (
    ("AGENT", "中介代理", "agent"),
    ("ONLINE", "线上广告", "online_ad"),
    ("STREET", "地推", "street"),
    ("PARTNER", "合作商户", "partner"),
)
# 春节 (the first day of the lunar year) by year: its month and the next are quiet, the month
# before it is busy (年货, 返乡)
SPRING_FESTIVAL = {
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
}
# the banks of the borrowers' cards (payout orders)
BANKS = ("中国工商银行", "中国建设银行", "中国农业银行", "中国银行", "招商银行", "交通银行")
# the last months in which contracts were drawn and signed in LoanDesk and payouts went
# through payout orders (before: paper contracts, the bank paid out directly)
PAPERLESS_MONTHS = 3
# how a borrower repays: on time, early (a few days before), late, partly, or stops paying
BEHAVIOURS = (("on_time", 62), ("early", 12), ("late", 12), ("partial", 6), ("default", 8))


@dataclass
class Plan:
    """A loan and how its borrower will repay: dated events, processed month by month."""

    loan: Any  # the loan (the session keeps it up to date)
    behaviour: str
    stop_after: int  # a defaulter pays this many installments, then nothing
    events: list[tuple[dt.date, int, str]] = field(default_factory=list)  # day, number, what


def month_starts(last_day: dt.date) -> list[dt.date]:
    """The first days of the 18 months up to and including ``last_day``'s. The history runs
    up to yesterday (``last_day``), so on the first of a month it ends with the month before:
    today's month has no past day yet."""
    first = last_day.replace(day=1)
    found = []
    for back in range(MONTHS - 1, -1, -1):
        year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
        found.append(dt.date(year, month + 1, 1))
    return found


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def weight(month: dt.date, index: int) -> float:
    """How busy a month is: growth over the 18 months, the 春节 dip and the rush before it,
    a busy September (before 国庆) and November (双十一), a quiet February."""
    w = 0.7 + 0.6 * index / (MONTHS - 1)
    festival = SPRING_FESTIVAL.get(month.year)
    if festival is not None:
        if (festival.year, festival.month) == (month.year, month.month):
            w *= 0.45
        elif next_month(month) == festival.replace(day=1):
            w *= 1.35
        elif month == next_month(festival.replace(day=1)):
            w *= 0.8
    if month.month in (9, 11):
        w *= 1.2
    if month.month == 6:
        w *= 1.1  # 618
    return w


def spread(total: int, weights: list[float]) -> list[int]:
    """``total`` split by ``weights`` in whole numbers (largest remainders)."""
    exact = [total * w / sum(weights) for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def local_noon(day: dt.date, zone: str, rng: random.Random) -> dt.datetime:
    """A working-hours moment of ``day`` in the tenant's zone, as UTC."""
    at = dt.datetime.combine(day, dt.time(rng.randint(9, 17), rng.randint(0, 59)))
    return at.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


def generate(
    db: Any, *, size: str, seed: int, progress: Callable[[str], Any] = print
) -> str | None:
    """The current tenant's history, made in one transaction (a failure leaves none); None
    when the tenant has loans already (a second ``loandesk demo`` keeps its data)."""
    from loandesk_repayment.models import Loan

    from loandesk.fields.current import forget

    forget()  # forms read before the bundle was applied (the same app context)
    # the request's own session (``extension.session()``), which the services read forms,
    # record access and the enabled plugins with, so that they see what is made here
    session = db.session()
    try:
        if session.scalar(select(func.count()).select_from(Loan)):
            session.rollback()
            return None
        rng = random.Random(seed)  # noqa: S311  (made-up data, the same for a seed)
        made = History(session, rng, SIZES[size], progress).run()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        db.session.remove()
    return made


class History:
    def __init__(
        self, session: Session, rng: random.Random, size: Size, progress: Callable[[str], Any]
    ) -> None:
        from loandesk_repayment.checks import local_today

        from loandesk import sdk
        from loandesk.auth import users

        self.session, self.rng, self.size, self.say = session, rng, size, progress
        self.zone = sdk.current().timezone
        # close of business runs for the day before: today is still going on
        self.today = local_today()
        self.last_day = self.today - dt.timedelta(days=1)
        self.months = month_starts(self.last_day)
        self.paperless_since = self.months[-PAPERLESS_MONTHS]
        self.users: dict[str, Any] = {p.email: users.find_by_email(session, p.email) for p in STAFF}
        self.admin: Any = users.find_by_email(session, "admin@demo.loandesk.local")
        self.plans: list[Plan] = []
        self.counts: dict[str, int] = defaultdict(int)

    # --- acting as staff ---------------------------------------------------------------------

    @contextmanager
    def acting(self, user: Any) -> Iterator[None]:
        """``user`` acts: the audit log names them, as a request of theirs would."""
        from flask import g

        from loandesk.audit.context import Actor, actor_context

        before = g.get("user"), g.pop("loandesk_record_access", None)
        g.user = user  # and their record access, read afresh (``rbac.current``)
        try:
            with actor_context(Actor(kind="user", id=str(user.id), label=f"{user.email} (demo)")):
                yield
        finally:
            g.user = before[0]
            g.pop("loandesk_record_access", None)
            if before[1] is not None:
                g.loandesk_record_access = before[1]

    def user(self, login: str) -> Any:
        return self.users[f"{login}@demo.loandesk.local"]

    def access(self, user: Any, record_type: str) -> Any:
        from loandesk.plugins import runtime
        from loandesk.rbac.access import RecordAccess

        return RecordAccess.resolve(self.session, user, runtime.record_type(record_type))

    # --- the run -----------------------------------------------------------------------------

    def run(self) -> str:
        from flask import current_app

        from loandesk.pii.keys import for_current_tenant

        with current_app.test_request_context():
            self.keys = for_current_tenant()
            self.products = self.make_products()
            self.channels = self.make_channels()
            self.customers = self.make_customers()
            loans_per_month = spread(
                self.size.loans, [weight(m, i) for i, m in enumerate(self.months)]
            )
            for month, loans in zip(self.months, loans_per_month, strict=True):
                self.month(month, loans)
            self.collect()
            self.assets()
        c = self.counts
        return (
            f"{len(self.customers)} customers, {c['applications']} applications "
            f"({c['approved']} approved, {c['rejected']} rejected, {c['returned']} sent back), "
            f"{c['loans']} loans ({c['contracts']} contracts drawn, {c['signed']} signed, "
            f"{c['orders']} payout orders), {c['payments']} payments, "
            f"{c['cob']} close-of-business runs, "
            f"{c['cases']} collection cases, {c['write_offs']} written off"
        )

    def make_products(self) -> list[tuple[Any, tuple[str, ...]]]:
        from loandesk_products import service as products

        made: list[tuple[Any, tuple[str, ...]]] = []
        risk = self.user("chen.jing")
        with self.acting(risk):
            for code, name, rate, terms, (low, high) in PRODUCTS:
                product = products.create_product(
                    self.session,
                    {
                        "code": code,
                        "name": name,
                        "terms": {
                            "min_amount": f"{low}.00",
                            "max_amount": f"{high}.00",
                            "min_periods": min(terms),
                            "max_periods": max(terms),
                            "annual_rate": rate,
                            "frequency": "monthly",
                            "method": "equal_installment",
                            "penalty": {
                                "annual_rate": "0.24",
                                "base": "overdue_principal",
                                "grace_days": 3,
                            },
                        },
                    },
                    user_id=risk.id,
                )
                made.append((product, (code, name, rate, str(terms), str(low), str(high))))
        return made

    def make_channels(self) -> list[Any]:
        from loandesk_channels import service as channels

        with self.acting(self.admin):
            return [
                channels.create_channel(self.session, {"code": code, "name": name, "kind": kind})
                for code, name, kind in CHANNELS
            ]

    def make_customers(self) -> list[tuple[Any, people.Borrower, Any, dt.date]]:
        """The borrowers, each owned by a credit officer of their region, created in the
        month they first came (in batches, as an import writes them)."""
        from loandesk_customers import service as customers
        from loandesk_customers.models import Customer

        taken: set[str] = set()
        per_month = spread(self.size.customers, [weight(m, i) for i, m in enumerate(self.months)])
        made: list[tuple[Any, people.Borrower, Any, dt.date]] = []
        for month, count in zip(self.months, per_month, strict=True):
            end = min(next_month(month) - dt.timedelta(days=1), self.last_day)
            by_officer: dict[str, list[tuple[people.Borrower, dt.date]]] = defaultdict(list)
            for _ in range(count):
                officer = self.rng.choice(OFFICERS)
                borrower = people.borrower(self.rng, officer.unit[0], self.today, taken)
                day = month + dt.timedelta(days=self.rng.randint(0, (end - month).days))
                by_officer[officer.email].append((borrower, day))
            for email, rows in sorted(by_officer.items()):
                owner = self.users[email]
                with self.acting(owner):
                    results = customers.create_customers(
                        self.session,
                        self.access(owner, "customer"),
                        self.keys,
                        [b.values for b, _ in rows],
                        owner_id=owner.id,
                    )
                for (borrower, day), result in zip(rows, results, strict=True):
                    if not isinstance(result, Customer):
                        raise RuntimeError(f"demo customer refused: {result.errors}")
                    made.append((result, borrower, owner, day))
        for customer, _, _, day in made:
            self.session.execute(
                update(Customer)
                .where(Customer.id == customer.id)
                .values(created_at=local_noon(day, self.zone, self.rng))
                .execution_options(synchronize_session=False)
            )
        self.say(f"  {len(made)} customers")
        return made

    # --- a month -----------------------------------------------------------------------------

    def month(self, start: dt.date, loans: int) -> None:
        end = min(next_month(start) - dt.timedelta(days=1), self.last_day)
        if end < start:
            return
        # applications: more than loans (some are rejected, some still in approval)
        wanted = int(loans / 0.72) + 1
        known = [c for c in self.customers if c[3] <= end]
        days = sorted(
            start + dt.timedelta(days=self.rng.randint(0, (end - start).days))
            for _ in range(wanted)
        )
        booked = 0
        for day in days:
            customer = self.rng.choice(known)
            recent = (self.last_day - day).days < 4
            loan = self.application(customer, day, recent and booked >= loans)
            if loan is not None:
                booked += 1
        # payments of the month, in date order, then close of business at its end
        self.repay(start, end)
        from loandesk_repayment import cob

        cob.run_cob(self.session, end, commit=self.session.flush)
        self.counts["cob"] += 1
        self.let_go()
        self.say(f"  {start:%Y-%m}: {len(days)} applications, {booked} loans")

    def let_go(self) -> None:
        """Let the session forget the month's written records nothing here holds (audit and
        outbox events, installments, payments, ledger lines, applications, flow steps...):
        they are in the database, and the services read them afresh. The history is one
        transaction, so the session would otherwise keep every object of it, and each ORM
        UPDATE (a loan's lock, for one) looks through all of them: the cost per loan would
        grow with the history."""
        from loandesk_assets import models as assets
        from loandesk_channels.models import Lead, LeadApplication
        from loandesk_collections.models import Action, Assignment, Case, Promise
        from loandesk_contracts.models import Contract
        from loandesk_disbursement.models import Order, OrderShare
        from loandesk_intake.models import Application
        from loandesk_repayment import models as repayment

        from loandesk.audit.models import AuditEvent
        from loandesk.events import OutboxEvent
        from loandesk.fields.models import FieldSearchValue
        from loandesk.flows import models as flows

        written = (
            AuditEvent,
            OutboxEvent,
            FieldSearchValue,
            flows.FlowInstance,
            flows.FlowStep,
            flows.FlowTask,
            flows.FlowAction,
            flows.FlowCopy,
            Application,
            Lead,
            LeadApplication,
            repayment.Installment,
            repayment.Payment,
            repayment.Allocation,
            repayment.LedgerEntry,
            repayment.LoanFunder,
            Contract,
            Order,
            OrderShare,
            assets.LoanClass,
            assets.ClassChange,
            Case,
            Assignment,
            Action,
            Promise,
        )
        self.session.flush()
        for obj in list(self.session.identity_map.values()):
            if isinstance(obj, written):
                self.session.expunge(obj)

    def application(self, customer_row: Any, day: dt.date, leave_open: bool) -> Any:
        """An application through the flow; the loan when approved and paid out."""
        from loandesk_intake import service as intake

        from loandesk.fields.current import current_form, value_context
        from loandesk.flows import actions
        from loandesk.flows.service import latest

        customer, borrower, officer, _ = customer_row
        rng = self.rng
        product, (_code, _name, _rate, terms_text, low, high) = rng.choice(self.products)
        terms = tuple(int(t) for t in terms_text.strip("()").split(",") if t.strip())
        ceiling = min(int(high), int(borrower.income * 10))
        amount = Decimal(
            max(int(low), rng.randint(int(low), max(int(low), ceiling)) // 1000 * 1000)
        )
        term = rng.choice(terms)
        form = current_form("application")
        submitted_at = local_noon(day, self.zone, rng)
        values: dict[str, Any] = {
            "customer_id": str(customer.id),
            "amount": str(amount),
            "term_months": term,
            "loan_purpose": rng.choice(
                (
                    "consumption",
                    "consumption",
                    "decoration",
                    "education",
                    "medical",
                    "travel",
                    "car",
                )
            ),
            "dd_visit_date": day.isoformat(),
            "dd_method": rng.choice(("visit", "phone", "video")),
            "dd_income_verified": str(borrower.income),
            "dd_employment_verified": rng.random() < 0.9,
            "dd_findings": rng.choice(
                (
                    "工作稳定，收入可核实，负债较低。",
                    "收入流水正常，家庭情况稳定。",
                    "已电话核实单位，社保连续缴纳。",
                    "收入以现金为主，建议控制额度。",
                )
            ),
        }
        app_access = self.access(officer, "application")
        with self.acting(officer):
            lead = None
            if rng.random() < 0.45:
                lead = self.lead(borrower, amount, submitted_at)
            if lead is not None:
                application = self.convert(lead, officer, borrower, amount, term)
                intake.update_application(
                    self.session,
                    app_access,
                    self.keys,
                    form,
                    application,
                    {
                        k: v
                        for k, v in values.items()
                        if k not in ("customer_id", "amount", "term_months")
                    },
                    context=value_context(),
                )
            else:
                application = intake.create_application(
                    self.session,
                    app_access,
                    self.keys,
                    form,
                    values,
                    owner_id=officer.id,
                    context=value_context(),
                )
            application.created_at = submitted_at - dt.timedelta(hours=rng.randint(1, 30))
            intake.submit(self.session, app_access, form, application, now=submitted_at)
        self.counts["applications"] += 1
        instance = latest(self.session, "application", application.id)
        assert instance is not None
        decided = submitted_at
        if leave_open:
            return None  # still with its approvers
        outcome = rng.choices(("approve", "reject", "return"), (74, 18, 8))[0]
        if outcome == "return":
            decided += dt.timedelta(hours=rng.randint(2, 20))
            approver = self.user(rng.choice(("zhang.wei", "li.na")))
            with self.acting(approver):
                actions.send_back(
                    self.session,
                    instance.id,
                    actions.Actor(approver.id),
                    "submitter",
                    actions.Note("请补充收入证明。"),
                    now=decided,
                )
            self.counts["returned"] += 1
            decided += dt.timedelta(hours=rng.randint(4, 48))
            with self.acting(officer):
                intake.submit(self.session, app_access, form, application, now=decided)
            outcome = "approve" if rng.random() < 0.8 else "reject"
        large = amount >= 50000
        signers = ["zhang.wei", "li.na"] if large else [rng.choice(("zhang.wei", "li.na"))]
        if large:
            signers.append("chen.jing")
        for index, login in enumerate(signers):
            decided += dt.timedelta(minutes=rng.randint(20, 60 * 30))
            approver = self.user(login)
            last = index == len(signers) - 1
            reject = outcome == "reject" and (last or rng.random() < 0.3)
            with self.acting(approver):
                decide = actions.reject if reject else actions.approve
                decide(
                    self.session,
                    instance.id,
                    actions.Actor(approver.id),
                    actions.Note("额度偏高，负债率超标。" if reject else "同意。"),
                    now=decided,
                )
            if reject:
                break
        self.session.refresh(application)
        if application.status != "approved":
            self.counts["rejected"] += 1
            return None
        self.counts["approved"] += 1
        disbursed_on = day + dt.timedelta(days=rng.randint(1, 4))
        # most approved in the last week: booked, waiting to be paid out (pending)
        waiting = (self.last_day - day).days < 7 and rng.random() < 0.7
        pay_out = disbursed_on <= self.last_day and not waiting
        loan = self.book(
            application,
            customer,
            officer,
            product,
            amount,
            term,
            min(disbursed_on, self.last_day),
            pay_out,
            paperless=day >= self.paperless_since,
            booked_on=day,
            borrower=borrower,
        )
        return loan

    def lead(self, borrower: people.Borrower, amount: Decimal, at: dt.datetime) -> Any:
        from loandesk_channels import leads

        channel = self.rng.choices(self.channels, (35, 30, 20, 15))[0]
        return leads.capture_lead(
            self.session,
            self.keys,
            {
                "name": borrower.name,
                "mobile": borrower.mobile,
                "amount": str(amount),
                "city": borrower.address[:6],
                "consent": True,
            },
            leads.Attribution(
                channel=channel.code,
                landed_at=at - dt.timedelta(days=self.rng.randint(1, 10)),
            ),
            consent_shown=leads.consent_text(),
        )

    def convert(
        self, lead: Any, officer: Any, borrower: people.Borrower, amount: Decimal, term: int
    ) -> Any:
        from loandesk_channels import leads
        from loandesk_intake.models import Application

        from loandesk.fields.current import value_context

        done = leads.convert(
            self.session,
            self.keys,
            lead,
            {"id_number": borrower.id_number, "amount": str(amount), "term_months": term},
            lead_access=self.access(officer, "lead"),
            customer_access=self.access(officer, "customer"),
            application_access=self.access(officer, "application"),
            context=value_context(),
        )
        return self.session.scalars(
            select(Application).where(Application.id == done.application_id)
        ).one()

    def book(
        self,
        application: Any,
        customer: Any,
        officer: Any,
        product: Any,
        amount: Decimal,
        term: int,
        disbursed_on: dt.date,
        pay_out: bool,
        *,
        paperless: bool,
        booked_on: dt.date,
        borrower: people.Borrower,
    ) -> Any:
        """Book the approved application's loan and pay it out (``pay_out``); plan its
        repayments. Before ``paperless_since`` the contract was signed on paper and the loan
        paid out by the bank directly; since, the contract is drawn and signed in LoanDesk
        and the payout goes through a payout order (``paperless``)."""
        from loandesk_intake import status as intake_status
        from loandesk_repayment import loans

        finance = self.user("zheng.li")
        with self.acting(finance):
            loan = loans.book(
                self.session,
                customer_id=customer.id,
                product_id=product.id,
                principal=amount,
                periods=term,
                application_id=application.id,
                expected_on=disbursed_on,
                booked_by=finance.id,
                owner_id=officer.id,
            )
        self.counts["loans"] += 1
        if paperless:
            # the last days' loans: some borrowers have not signed yet, then nothing is paid
            signed = self.contract(
                loan, officer, booked_on, disbursed_on, sign=pay_out or (self.rng.random() < 0.5)
            )
            if signed:
                with self.acting(officer):
                    intake_status.mark_contracted(self.session, application)
                self.payout(loan, borrower, disbursed_on, pay_out)
        else:
            with self.acting(officer):
                intake_status.mark_contracted(self.session, application)
            if pay_out:
                with self.acting(finance):
                    loans.activate(self.session, loan, disbursed_on)
        if not pay_out:
            return loan
        behaviour = self.rng.choices([b for b, _ in BEHAVIOURS], [w for _, w in BEHAVIOURS])[0]
        # a defaulter pays a few installments at most, then nothing
        plan = Plan(loan, behaviour, stop_after=self.rng.randint(0, min(4, term - 2)))
        for item in loans.installments_of(self.session, loan):
            if item.number == 0:
                plan.events.append((item.due_date, 0, "full"))
                continue
            if behaviour == "default" and item.number > plan.stop_after:
                break
            due = item.due_date
            if behaviour == "early" or (behaviour == "on_time" and self.rng.random() < 0.3):
                plan.events.append(
                    (due - dt.timedelta(days=self.rng.randint(1, 5)), item.number, "full")
                )
            elif behaviour == "late" and self.rng.random() < 0.6:
                plan.events.append(
                    (due + dt.timedelta(days=self.rng.randint(4, 40)), item.number, "full")
                )
            elif behaviour == "partial" and self.rng.random() < 0.5:
                plan.events.append((due, item.number, "half"))
                plan.events.append(
                    (due + dt.timedelta(days=self.rng.randint(5, 25)), item.number, "full")
                )
            else:
                plan.events.append((due, item.number, "full"))
        plan.events = [(max(day, disbursed_on), number, what) for day, number, what in plan.events]
        self.plans.append(plan)
        return loan

    def contract(
        self, loan: Any, officer: Any, drawn_on: dt.date, signed_on: dt.date, *, sign: bool
    ) -> bool:
        """The officer draws the loan's contract and sends it for signature (the borrower's
        link goes by SMS, which the demo gateway fails); the borrower signs it with the
        built-in click-to-sign (``sign``) on ``signed_on`` or the day it was sent."""
        from loandesk_contracts import clicksign, signing
        from loandesk_contracts import service as contracts

        from loandesk.audit.context import Actor, actor_context

        with self.acting(officer):
            contract = contracts.create_contract(
                self.session, loan.id, user_id=officer.id, today=drawn_on
            )
            signing.send(self.session, contract, user_id=officer.id, today=drawn_on)
        self.counts["contracts"] += 1
        if not sign:
            return False
        at = local_noon(max(drawn_on, min(signed_on, self.last_day)), self.zone, self.rng)
        agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) (demo)"
        # the borrower signs on the contract's page: not a staff member (no user)
        with actor_context(Actor(kind="anonymous", label="borrower (demo)", user_agent=agent)):
            signing.complete(
                self.session,
                contract,
                clicksign.signature_page(contract, ip="198.51.100.7", user_agent=agent, at=at),
                detail={
                    "method": "click_to_sign",
                    "signer": contract.borrower_name,
                    "ip": "198.51.100.7",
                    "user_agent": agent,
                    "signed_at": at.isoformat(),
                },
            )
        contract.signed_at = at
        self.counts["signed"] += 1
        return True

    def payout(self, loan: Any, borrower: people.Borrower, paid_on: dt.date, pay: bool) -> None:
        """Finance requests the payout order to the borrower's card, the risk manager
        reviews it (never the requester), and finance marks it paid with the bank's reference
        on ``paid_on`` (``pay``), which activates the loan; otherwise it waits for review."""
        from loandesk_disbursement import payout
        from loandesk_disbursement import service as disbursement

        finance, checker = self.user("zheng.li"), self.user("chen.jing")
        with self.acting(finance):
            order, _ = disbursement.request_order(
                self.session,
                {
                    "loan_id": str(loan.id),
                    "amount": str(loan.principal),
                    "account_name": borrower.name,
                    "account_number": borrower.bank_card,
                    "bank_name": self.rng.choice(BANKS),
                },
                user_id=finance.id,
                keys=self.keys,
            )
        self.counts["orders"] += 1
        if not pay:
            return
        with self.acting(checker):
            disbursement.approve(self.session, order.id, user_id=checker.id)
        with self.acting(finance):
            payout.mark_paid(
                self.session,
                order.id,
                user_id=finance.id,
                bank_reference=f"{paid_on:%Y%m%d}{self.rng.randint(10**9, 10**10 - 1)}",
                paid_on=paid_on,
            )

    # --- repayments --------------------------------------------------------------------------

    def repay(self, start: dt.date, end: dt.date) -> None:
        """Every planned payment dated in ``start``..``end``, in date order: the amount owed
        on the installments due by then (``full``, the earlier months' leftovers and
        penalty included) or half of it (``half``)."""
        from loandesk_repayment import payments
        from loandesk_repayment.models import Installment as I

        from loandesk.sdk import Money

        todo = sorted(
            (day, str(plan.loan.id), number, what, plan)
            for plan in self.plans
            for day, number, what in plan.events
            if start <= day <= end
        )
        # what is owed on a loan's installments up to a number: the database's figures (close
        # of business restates them set-based; the session's changes are flushed first)
        left = sum(
            (getattr(I, f"{part}_due") - getattr(I, f"{part}_paid"))
            for part in ("principal", "interest", "fees", "penalty")
        )
        finance = self.user("zheng.li")
        with self.acting(finance):
            for day, _, number, what, plan in todo:
                loan = plan.loan  # in the session: its status is the latest
                if loan.status != "active":
                    continue
                owed: Decimal = (
                    self.session.scalar(
                        select(type_coerce(func.coalesce(func.sum(left), 0), Money())).where(
                            I.loan_id == loan.id, I.superseded.is_(False), I.number <= number
                        )
                    )
                    or ZERO
                )
                if what == "half":
                    owed = (owed / 2).quantize(Decimal("0.01"))
                if owed <= 0:
                    continue
                payments.post_payment(
                    self.session,
                    loan,
                    owed,
                    day,
                    source="import",
                    reference=f"DEMO-{day:%Y%m%d}-{number}{what[0].upper()}",
                    posted_by=finance.id,
                )
                self.counts["payments"] += 1

    # --- collections and assets --------------------------------------------------------------

    def collect(self) -> None:
        """The collectors work their open cases: calls, SMS and visits with outcomes, and
        promises to pay."""
        from loandesk_collections import cases
        from loandesk_collections.models import Case

        open_cases = list(
            self.session.scalars(select(Case).where(Case.status == "open").order_by(Case.id))
        )
        self.counts["cases"] = len(open_cases)
        for case in open_cases:
            if case.owner_id is None or self.rng.random() < 0.2:
                continue
            collector = next(u for u in self.users.values() if u.id == case.owner_id)
            with self.acting(collector):
                for _ in range(self.rng.randint(1, 3)):
                    kind, outcome = self.rng.choice(
                        (
                            ("call", "no_answer"),
                            ("call", "busy"),
                            ("call", "promised"),
                            ("call", "callback"),
                            ("call", "refused"),
                            ("sms", "delivered"),
                            ("visit", "met"),
                        )
                    )
                    cases.log_action(
                        self.session,
                        case,
                        user_id=collector.id,
                        kind=kind,
                        outcome=outcome,
                        note="借款人表示月底前还款。" if outcome == "promised" else "",
                    )
                    if outcome == "promised":
                        cases.make_promise(
                            self.session,
                            case,
                            user_id=collector.id,
                            amount=str(
                                max(
                                    Decimal("100.00"),
                                    (case.overdue_amount / 2).quantize(Decimal("0.01")),
                                )
                            ),
                            promised_on=self.today + dt.timedelta(days=self.rng.randint(1, 10)),
                        )

    def assets(self) -> None:
        """Every active loan's asset class (五级分类), and the worst loans written off: asked
        by the post-loan admin, approved by the risk manager."""
        from loandesk_assets import classify, write_offs
        from loandesk_repayment.models import Loan

        classify.classify_all(self.session)
        worst = list(
            self.session.scalars(
                select(Loan)
                .where(Loan.status == "active", Loan.days_past_due >= 120)
                .order_by(Loan.days_past_due.desc(), Loan.number)
                .limit(max(1, self.size.loans // 100))
            )
        )
        asker, checker = self.user("zhao.min"), self.user("chen.jing")
        for loan in worst:
            with self.acting(asker):
                row = write_offs.request(
                    self.session, loan.id, "逾期超过 120 天，催收无果，申请核销。", user_id=asker.id
                )
            with self.acting(checker):
                write_offs.approve(
                    self.session,
                    row.id,
                    reviewer=checker,
                    note="同意核销，转入核销后追偿。",
                    written_off_on=self.last_day,
                )
            self.counts["write_offs"] += 1
