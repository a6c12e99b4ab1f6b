"""Close of business (日终, issue 11 item 1): over a seeded portfolio of ~50 loans of several
products (penalty on principal and on principal + interest, grace days, day counts, no
penalty), partial and full payments and early repayments between runs, skipped days — each
loan's DPD, bucket, overdue amounts and each installment's penalty equal a slow loan-by-loan
reference (``cob_reference``); the ledger sums to the balances. A run killed half way and
run again ends as one clean run; a second run for a date changes nothing."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from loandesk.finance import DayCount, Frequency, Method, Penalty, PenaltyBase
from tests.plugins.repayment.cob_reference import Reference, cents
from tests.plugins.repayment.conftest import (
    PRODUCT_ID,
    Desk,
    Products,
    ledger_problems,
    product,
)

PEN_P = uuid.UUID("0190a000-0000-7000-8000-000000000101")
PEN_PI = uuid.UUID("0190a000-0000-7000-8000-000000000102")
PEN_GRACE = uuid.UUID("0190a000-0000-7000-8000-000000000103")
PEN_FLAT = uuid.UUID("0190a000-0000-7000-8000-000000000104")
PRODUCTS = (PEN_P, PEN_PI, PEN_GRACE, PEN_FLAT, PRODUCT_ID)
FIRST_DISBURSED = dt.date(2025, 1, 3)
# business dates in order, some days skipped (a run catches the loans up)
DATES = [
    dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 3, 6), dt.date(2025, 3, 20),
    dt.date(2025, 4, 20), dt.date(2025, 4, 21), dt.date(2025, 6, 2), dt.date(2025, 7, 15),
    dt.date(2025, 9, 30),
]  # fmt: skip


def _catalogue(desk: Desk) -> None:
    plugin = next(p for p in desk.app.extensions["loandesk.plugins"].pm.get_plugins()
                  if isinstance(p, Products))  # fmt: skip
    plugin.catalogue.update(
        {
            PEN_P: product(
                PEN_P, code="FX01", penalty=Penalty(Decimal("0.18"), PenaltyBase.OVERDUE_PRINCIPAL)
            ),
            PEN_PI: product(
                PEN_PI,
                code="FX02",
                method=Method.EQUAL_PRINCIPAL,
                day_count=DayCount.ACTUAL_365,
                penalty=Penalty(
                    Decimal("0.2437"), PenaltyBase.OVERDUE_PRINCIPAL_AND_INTEREST, grace_days=3
                ),
            ),
            PEN_GRACE: product(
                PEN_GRACE,
                code="FX03",
                method=Method.INTEREST_FIRST,
                frequency=Frequency.BIWEEKLY,
                day_count=DayCount.ACTUAL_360,
                penalty=Penalty(Decimal("0.365"), PenaltyBase.OVERDUE_PRINCIPAL, grace_days=5),
            ),
            PEN_FLAT: product(
                PEN_FLAT,
                code="FX04",
                method=Method.FLAT,
                fees=(),
                penalty=Penalty(Decimal("0.0913"), PenaltyBase.OVERDUE_PRINCIPAL_AND_INTEREST),
            ),
        }
    )


def _seed(desk: Desk, count: int = 50) -> list[str]:
    """``count`` loans over the five products, amounts, terms and payout dates varied; a
    third of them co-lent 70/30."""
    _catalogue(desk)
    desk.api.post("/loans/funders", json={"code": "BANK1", "name": "某银行"})
    desk.api.post("/loans/funders", json={"code": "OWN", "name": "自有资金", "kind": "own"})
    ids = []
    for i in range(count):
        extra: dict[str, Any] = {}
        if i % 3 == 0:
            extra["funders"] = [{"code": "BANK1", "share": "0.7"}, {"code": "OWN", "share": "0.3"}]
        loan = desk.book(
            PRODUCTS[i % len(PRODUCTS)],
            principal=f"{3000 + 731 * i + (i % 7) * 0.37:.2f}",
            periods=3 + i % 10,
            disbursed_on=(FIRST_DISBURSED + dt.timedelta(days=2 * i)).isoformat(),
            **extra,
        )
        ids.append(loan["id"])
    return ids


def _owed_by(session: Any, loan_id: str, day: dt.date) -> Decimal:
    from loandesk_repayment.models import Installment

    rows = session.scalars(
        select(Installment).where(
            Installment.loan_id == uuid.UUID(loan_id),
            Installment.superseded.is_(False),
            Installment.due_date <= day,
        )
    )
    return sum(
        (r.outstanding(p) for r in rows for p in ("principal", "interest", "fees", "penalty")),
        Decimal(0),
    )


def _pay_some(
    desk: Desk, ids: list[str], day: dt.date, rng: random.Random, reference: Reference
) -> None:
    """After the run for ``day``: some borrowers pay part of what they owe, some all of it,
    and now and then one repays early (the schedule's rest superseded)."""
    for loan_id in rng.sample(ids, 12):
        with desk.session() as session:
            owed = _owed_by(session, loan_id, day)
        status = desk.api.get(f"/loans/{loan_id}").get_json()["status"]
        if owed <= 0 or status != "active":
            continue
        roll = rng.random()
        amount = owed if roll < 0.35 else (owed * Decimal(rng.randint(10, 80)) / 100)
        if roll < 0.2:  # paid ahead: the rest is credit, applied as installments fall due
            amount = owed + Decimal(rng.randint(100, 3000))
        answer = desk.pay(loan_id, f"{max(amount, Decimal('1.00')):.2f}", day)
        assert answer.status_code == 201, answer.get_json()
        with desk.session() as session:
            reference.paid(session, uuid.UUID(loan_id))
    for loan_id in rng.sample(ids, 2):
        body = {"kind": "full", "repaid_on": day.isoformat()}
        quoted = desk.api.post(f"/loans/{loan_id}/early-repayment/quote", json=body)
        if quoted.status_code != 200:
            continue  # not active any more
        total = quoted.get_json()["total"]
        posted = desk.api.post(f"/loans/{loan_id}/early-repayment", json={**body, "amount": total})
        assert posted.status_code == 201, posted.get_json()
        with desk.session() as session:
            reference.paid(session, uuid.UUID(loan_id))


def _cob(desk: Desk, day: dt.date, **kw: Any) -> Any:
    from loandesk_repayment import cob

    with desk.session() as session:
        return cob.run_cob(session, day, **kw)


def _state(desk: Desk) -> dict[str, Any]:
    with desk.session() as session:
        return _state_in(session)


def _state_in(session: Any) -> dict[str, Any]:
    """Everything close of business writes, by loan number and installment number: loans,
    installments (in force and superseded), ledger lines and events (ids of runs left out)."""
    from loandesk_repayment.models import Installment, LedgerEntry, Loan

    from loandesk.events import OutboxEvent

    if True:
        loans = {
            loan.id: loan.number
            for loan in session.scalars(select(Loan).execution_options(populate_existing=True))
        }
        loan_rows = sorted(
            (loans[r.id], r.status, r.cob_date, r.days_past_due, r.bucket,
             r.overdue_principal, r.overdue_amount)
            for r in session.scalars(select(Loan))
        )  # fmt: skip
        columns = (
            "number", "due_date", "superseded", "penalty_due", "penalty_paid", "status",
            "days_past_due", "overdue_since", "penalty_days", "penalty_base",
            "penalty_segment_days", "penalty_frozen",
        )  # fmt: skip
        installment_rows = sorted(
            ((loans[r.loan_id], *(getattr(r, c) for c in columns)) for r in session.scalars(
                select(Installment).execution_options(populate_existing=True))),
            key=repr,
        )  # fmt: skip
        ledger = Counter(
            (loans[r.loan_id], r.account, r.funder_id, r.debit, r.credit, r.event, r.booked_on)
            for r in session.scalars(select(LedgerEntry))
        )
        events = Counter(
            (e.name, e.record_id, json.dumps(e.payload, sort_keys=True))
            for e in session.scalars(select(OutboxEvent))
        )
    return {
        "loans": loan_rows,
        "installments": installment_rows,
        "ledger": ledger,
        "events": events,
    }


def _compare(desk: Desk, reference: Reference) -> int:
    """Every loan and installment equal to the reference; how many installments carry a
    penalty (so the test shows it compared some)."""
    from loandesk_repayment.models import Installment, Loan

    charged = 0
    with desk.session() as session:
        for loan in session.scalars(select(Loan).execution_options(populate_existing=True)):
            want = reference.loans.get(loan.id)
            if want is None:
                assert loan.cob_date is None
                continue
            found = (loan.cob_date, loan.days_past_due, loan.bucket,
                     cents(loan.overdue_principal), cents(loan.overdue_amount),
                     cents(loan.credit_balance))  # fmt: skip
            wanted = (want.cob_date, want.dpd, want.bucket, want.overdue_principal,
                      want.overdue_amount, reference.credit(session, loan.id))  # fmt: skip
            assert found == wanted, loan.number
            paid = reference._paid(session, loan.id)
            for row in session.scalars(
                select(Installment)
                .where(Installment.loan_id == loan.id, Installment.superseded.is_(False))
                .execution_options(populate_existing=True)
            ):
                for part in ("principal", "interest", "fees", "penalty"):
                    assert cents(row.paid(part)) == paid.get((row.id, part), 0), (loan.number, part)
        for row in session.scalars(select(Installment).execution_options(populate_existing=True)):
            accrual = reference.accruals.get(row.id)
            penalty = reference.penalty.get(row.id, 0)
            assert cents(row.penalty_due) == penalty, (row.loan_id, row.number)
            assert row.overdue_since == (accrual.overdue_since if accrual else None)
            assert row.days_past_due == (accrual.dpd if accrual else 0)
            charged += penalty > 0
    return charged


def test_cob_equals_the_loan_by_loan_reference(desk: Desk) -> None:
    ids = _seed(desk)
    reference = Reference()
    rng = random.Random(11)
    seen_buckets: set[str] = set()
    for day in DATES:
        run = _cob(desk, day, chunk_size=7)
        assert (run.state, run.loans_done) == ("done", run.loans_total)
        with desk.session() as session:
            reference.run(session, day)
        charged = _compare(desk, reference)
        seen_buckets |= {state.bucket for state in reference.loans.values()}
        _pay_some(desk, ids, day, rng, reference)
    assert charged > 20  # penalties of every product with one were compared
    assert {"M0", "M1", "M2", "M3", "M3+"} <= seen_buckets
    events = _state(desk)["events"]
    by_name = Counter(name for (name, _, _), count in events.items() for _ in range(count))
    assert by_name["installment.overdue"] == len(reference.overdue_events) > 0
    assert by_name["loan.bucket_changed"] == len(reference.bucket_events) > 0
    credit_events = sorted(
        (rid, cents(Decimal(json.loads(p)["amount"])))
        for (n, rid, p), count in events.items()
        for _ in range(count)
        if n == "loan.credit_applied"
    )
    assert credit_events == sorted((str(i), a) for i, a in reference.credit_events)
    assert len(credit_events) >= 3  # borrowers who paid ahead had credit applied
    bucket_events = {(rid, json.loads(p)["from"], json.loads(p)["to"]) for (n, rid, p) in events
                     if n == "loan.bucket_changed"}  # fmt: skip
    assert bucket_events == {(str(i), a, b) for i, a, b in reference.bucket_events}
    with desk.session() as session:
        for loan_id in ids:
            assert ledger_problems(session, loan_id) == [], loan_id


def test_catching_up_skipped_days_charges_what_a_run_each_day_would(desk: Desk) -> None:
    """Two identical loans... in one tenant cannot be run apart, so the same portfolio is
    run day by day, then the daily penalty is compared with the reference's one-step
    catch-up of the same days (the reference's arithmetic is per segment, not per day)."""
    _seed(desk, 10)
    daily, once = Reference(), Reference()
    start = dt.date(2025, 5, 1)
    with desk.session() as session:
        once.run(session, start + dt.timedelta(days=20))
    for offset in range(21):
        _cob(desk, start + dt.timedelta(days=offset))
        with desk.session() as session:
            daily.run(session, start + dt.timedelta(days=offset))
    assert _compare(desk, daily) > 0
    assert daily.penalty == once.penalty
    assert {k: (v.dpd, v.bucket) for k, v in daily.loans.items()} == {
        k: (v.dpd, v.bucket) for k, v in once.loans.items()
    }


class Killed(Exception):
    pass


def _killer(session: Any, after: int, *, before_commit: bool) -> Any:
    """A ``commit`` that dies at its ``after``-th call: just after committing (the process
    killed between chunks) or instead of committing (killed inside a chunk)."""
    calls = [0]

    def commit() -> None:
        calls[0] += 1
        if calls[0] == after and before_commit:
            raise Killed
        session.commit()
        if calls[0] == after:
            raise Killed

    return commit


@pytest.mark.parametrize("before_commit", [False, True])
def test_a_run_killed_half_way_then_run_again_ends_as_one_clean_run(
    desk: Desk, before_commit: bool
) -> None:
    from loandesk_repayment import cob

    ids = _seed(desk, 30)
    _cob(desk, dt.date(2025, 4, 1))
    assert desk.pay(ids[3], "500.00", dt.date(2025, 4, 1)).status_code == 201
    day = dt.date(2025, 6, 10)
    with desk.session() as session:
        # one clean run in a transaction rolled back afterwards: the state it would leave
        cob.run_cob(session, day, commit=session.flush, chunk_size=4)
        clean = _state_in(session)
        session.rollback()
    assert _state(desk)["loans"] != clean["loans"]  # rolled back: nothing was run
    with desk.session() as session:
        # killed at the 4th commit, before it (chunks 1-3 kept) or just after (1-4); the run
        # was made with its first chunk
        killer = _killer(session, 4, before_commit=before_commit)
        with pytest.raises(Killed):
            cob.run_cob(session, day, commit=killer, chunk_size=4)
        session.rollback()
    with desk.session() as session:
        run = cob.get_run(session, day)
        assert run is not None and run.state == "running"
        assert run.chunks_done == (3 if before_commit else 4)
        assert 0 < run.loans_done < run.loans_total
    again = _cob(desk, day, chunk_size=4)
    assert (again.state, again.loans_done, again.attempts) == ("done", again.loans_total, 2)
    assert _state(desk) == clean
    with desk.session() as session:
        for loan_id in ids:
            assert ledger_problems(session, loan_id) == [], loan_id


def test_a_second_run_for_a_date_changes_nothing(desk: Desk) -> None:
    from loandesk_repayment import cob
    from loandesk_repayment.models import LedgerEntry

    _seed(desk, 20)
    day = dt.date(2025, 7, 1)
    first = _cob(desk, day, chunk_size=6)
    before = _state(desk)
    with desk.session() as session:
        lines = session.scalar(select(func.count()).select_from(LedgerEntry))
    second = _cob(desk, day, chunk_size=6)
    assert (second.id, second.state, second.penalty_posted) == (
        first.id, "done", first.penalty_posted,
    )  # fmt: skip
    assert first.penalty_posted > 0
    assert _state(desk) == before
    with desk.session() as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == lines
        # an earlier date cannot be run once a later one has been
        from loandesk.sdk import Conflict

        with pytest.raises(Conflict):
            cob.start(session, dt.date(2025, 6, 30))


def test_the_api_runs_close_of_business_and_shows_its_progress(desk: Desk) -> None:
    _seed(desk, 6)
    started = desk.api.post("/loans/cob-runs", json={"business_date": "2025-05-05"})
    assert started.status_code == 202, started.get_json()
    listed = desk.api.get("/loans/cob-runs").get_json()
    assert listed["items"][0]["business_date"] == "2025-05-05"
    assert listed["items"][0]["state"] == "running"
    from loandesk_repayment import cob

    from loandesk.jobs.runtime import execute

    progress: list[tuple[int, int]] = []
    execute(desk.app, "cob-1", cob.JOB, uuid.UUID(desk.firm.tenant.id), ("2025-05-05",), 1,
            lambda done, total: progress.append((done, total)))  # fmt: skip
    assert progress == [(6, 6)]
    listed = desk.api.get("/loans/cob-runs").get_json()
    run = listed["items"][0]
    assert (run["state"], run["loans_done"], run["loans_total"]) == ("done", 6, 6)
    assert listed["business_date"] == "2025-05-05"
    again = desk.api.post("/loans/cob-runs", json={"business_date": "2025-05-05"})
    assert again.status_code == 200 and again.get_json()["id"] == run["id"]
    back = desk.api.post("/loans/cob-runs", json={"business_date": "2025-05-01"})
    assert back.status_code == 409
    future = desk.api.post("/loans/cob-runs", json={"business_date": "2999-01-01"})
    assert future.status_code == 422
    officer = desk.firm.staff["officer1"].api
    assert officer.post("/loans/cob-runs", json={"business_date": "2025-05-06"}).status_code == 403
    loan = desk.api.get("/loans").get_json()["items"][0]
    assert {"days_past_due", "bucket", "cob_date"} <= set(loan)


def test_close_of_business_is_scheduled_at_the_tenants_midnight(desk: Desk) -> None:
    from loandesk.jobs.schedules import latest_due

    schedules = dict((s.name, s) for _, s in desk.app.extensions["loandesk.jobs"].schedules)
    daily = schedules["repayment.cob_daily"]
    assert (daily.job, daily.args, daily.per_tenant) == ("repayment.cob", (), True)
    now = dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC)  # 01:00 on 2 March in Shanghai
    assert latest_due(daily.cron, now, "Asia/Shanghai") == dt.datetime(
        2026, 3, 1, 16, 0, tzinfo=dt.UTC
    )


def test_dpd_buckets_are_a_tenant_setting(desk: Desk) -> None:
    from loandesk_repayment.cob_settings import Bucket, parse_buckets

    assert parse_buckets("M0:0, M1:30, M2:60, M3:90, M3+") == [
        Bucket("M0", 0), Bucket("M1", 30), Bucket("M2", 60), Bucket("M3", 90), Bucket("M3+", None),
    ]  # fmt: skip
    for wrong in ("M0", "M0:0, M1:30", "M0:5, M1:5, M2", "M0:0, M0:9, M1", "M0:x, M1", "M0:-1, M1"):
        with pytest.raises(ValueError):
            parse_buckets(wrong)
    ids = _seed(desk, 5)
    from tests.helpers import ApiClient

    admin = ApiClient(desk.api.client, desk.firm.tenant.token)
    bad = admin.put("/plugins/repayment", json={"settings": {"dpd_buckets": "M1:30, M0:0, M2"}})
    assert bad.status_code == 422, bad.get_json()
    good = admin.put("/plugins/repayment", json={"settings": {"dpd_buckets": "C:0, X:15, Y"}})
    assert good.status_code == 200, good.get_json()
    with desk.session() as session:
        owed = _owed_by(session, ids[4], dt.date(2025, 4, 30))  # monthly, 7: not settled
    assert desk.pay(ids[4], f"{owed:.2f}", dt.date(2025, 4, 30)).status_code == 201
    _cob(desk, dt.date(2025, 5, 1))
    with desk.session() as session:
        reference = Reference()
        reference.run(session, dt.date(2025, 5, 1))
    from loandesk_repayment.models import Loan

    with desk.session() as session:
        found = {
            loan.id: (loan.days_past_due, loan.bucket)
            for loan in session.scalars(select(Loan).where(Loan.status == "active"))
        }
    wanted = {
        loan_id: (state.dpd, "C" if state.dpd == 0 else "X" if state.dpd <= 15 else "Y")
        for loan_id, state in reference.loans.items()
    }
    assert len(found) == len(ids) == 5
    assert found == wanted and {"C", "Y"} <= {b for _, b in found.values()}


def test_a_loan_reopened_behind_the_checkpoint_is_still_taken(desk: Desk) -> None:
    """A settled loan (not taken) whose settling payment is reversed while the run is half
    way, its id before the checkpoint: the run sweeps back for it before it finishes."""
    from loandesk_repayment import cob
    from loandesk_repayment.models import Loan

    ids = sorted(_seed(desk, 9), key=uuid.UUID)
    day = dt.date(2025, 7, 1)
    with desk.session() as session:
        owed = _owed_by(session, ids[0], day) + Decimal("100000.00")
    paid = desk.pay(ids[0], f"{owed:.2f}", dt.date(2025, 6, 30))
    assert paid.status_code == 201, paid.get_json()
    assert desk.api.get(f"/loans/{ids[0]}").get_json()["status"] == "settled"
    with desk.session() as session:
        killer = _killer(session, 2, before_commit=False)  # after the first chunk
        with pytest.raises(Killed):
            cob.run_cob(session, day, commit=killer, chunk_size=3)
    reversed_ = desk.api.post(
        f"/loans/{ids[0]}/payments/{paid.get_json()['id']}/reverse", json={"reason": "退票"}
    )
    assert reversed_.status_code == 200, reversed_.get_json()
    run = _cob(desk, day, chunk_size=3)
    assert run.state == "done"
    with desk.session() as session:
        loan = session.scalars(select(Loan).where(Loan.id == uuid.UUID(ids[0]))).one()
        assert (loan.status, loan.cob_date) == ("active", day)
        assert loan.days_past_due > 0 and loan.bucket != "M0"
        assert ledger_problems(session, ids[0]) == []
