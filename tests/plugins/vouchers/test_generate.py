"""Vouchers from the ledger: for a seeded day with a payout (with fees), a repayment of
penalty, fees, interest and principal, the night's penalty interest and a write-off, each
voucher balances to the cent and its lines are exactly the ledger's nets by account; a day
generated again makes nothing new; a missing mapping makes nothing at all."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import func, select

from tests.plugins.customers.conftest import audit_events
from tests.plugins.vouchers.conftest import CHART, DAY, Seeded

KIND_EVENTS = {
    "disbursement": ("activation",),
    "repayment": ("payment", "reversal"),
    "penalty": ("penalty",),
    "write_off": ("write_off",),
}


SUMMARY_ZH = {
    "disbursement": "放款",
    "repayment": "还款",
    "penalty": "罚息计提",
    "write_off": "核销",
}


def _by_kind(vouchers: list[dict]) -> dict[str, dict]:
    return {v["kind"]: v for v in vouchers}


def test_vouchers_balance_and_equal_the_ledger(seeded: Seeded) -> None:
    seeded.map_all()
    answer = seeded.generate()
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {
        "created": 4,
        "rebuilt": 0,
        "unchanged": 0,
        "kept": 0,
        "removed": 0,
    }
    vouchers = _by_kind(seeded.vouchers())
    assert set(vouchers) == set(KIND_EVENTS)
    nets = seeded.ledger_nets()
    assert {event for event, _ in nets} == {"activation", "payment", "penalty", "write_off"}
    numbers = sorted(v["number"] for v in vouchers.values())
    assert numbers == [1, 2, 3, 4]  # 记-1 … 记-4 in March 2025
    for kind, voucher in vouchers.items():
        assert voucher["word"] == "记" and voucher["state"] == "draft"
        assert voucher["summary"] == f"2025年3月20日{SUMMARY_ZH[kind]}汇总"
        debits = sum(Decimal(line["debit"]) for line in voucher["lines"])
        credits = sum(Decimal(line["credit"]) for line in voucher["lines"])
        assert debits == credits == Decimal(voucher["total"]) > 0
        booked: dict[str, Decimal] = defaultdict(Decimal)
        for line in voucher["lines"]:
            assert (Decimal(line["debit"]) == 0) != (Decimal(line["credit"]) == 0)
            code, name, aux = CHART[line["account"]]
            assert (line["subject_code"], line["subject_name"], line["aux"]) == (code, name, aux)
            booked[line["account"]] += Decimal(line["debit"]) - Decimal(line["credit"])
        ledger = defaultdict(Decimal)
        for (event, account), net in nets.items():
            if event in KIND_EVENTS[kind] and net:
                ledger[account] += net
        assert dict(booked) == dict(ledger), kind

    repayment = vouchers["repayment"]["lines"]
    credited = {
        line["account"]: Decimal(line["credit"]) for line in repayment if Decimal(line["credit"])
    }
    # the payment split by part, each part its own line; cash is the whole payment
    assert set(credited) == {
        "receivable_penalty",
        "receivable_fees",
        "receivable_interest",
        "receivable_principal",
    }
    assert all(amount > 0 for amount in credited.values())
    (cash,) = [line for line in repayment if line["account"] == "cash"]
    assert Decimal(cash["debit"]) == Decimal("1500.00") == sum(credited.values())
    assert cash["summary"] == "还款-收款"

    write_off = vouchers["write_off"]["lines"]
    (lost,) = [line for line in write_off if line["account"] == "written_off"]
    assert Decimal(lost["debit"]) == seeded.written_off_total
    disbursement = {line["account"]: line for line in vouchers["disbursement"]["lines"]}
    assert Decimal(disbursement["fee_income"]["credit"]) > 0  # the payout's fees
    assert Decimal(disbursement["funds_disbursed"]["credit"]) == Decimal("19950.00")  # 50 deducted
    # the customer dimension: the principal line names the borrower, income the product
    assert disbursement["receivable_principal"]["aux_code"] == seeded.desk.customer_id
    assert disbursement["interest_income"]["aux_code"] == "XF04"
    penalty = {
        line["account"]: Decimal(line["debit"]) - Decimal(line["credit"])
        for line in vouchers["penalty"]["lines"]
    }
    assert penalty["receivable_penalty"] == -penalty["penalty_income"] > 0
    assert len(audit_events(seeded.desk.app, seeded.desk.firm, "vouchers.generated")) == 1


def test_generating_a_day_again_makes_nothing_new(seeded: Seeded) -> None:
    from loandesk_vouchers.models import Voucher, VoucherLine

    seeded.map_all()
    first = seeded.vouchers() if seeded.generate().status_code == 200 else []
    again = seeded.generate()
    assert again.get_json() == {"created": 0, "rebuilt": 0, "unchanged": 4, "kept": 0, "removed": 0}
    assert seeded.vouchers() == first
    with seeded.session() as session:
        assert session.scalar(select(func.count()).select_from(Voucher)) == 4
        lines = session.scalar(select(func.count()).select_from(VoucherLine))
    # the ledger moves on the day (a second payment): the draft is rebuilt in place
    more = seeded.desk.pay(seeded.paid_id, "100.00", DAY)
    assert more.status_code == 201, more.get_json()
    third = seeded.generate()
    assert third.get_json()["rebuilt"] == 1 and third.get_json()["created"] == 0
    after = _by_kind(seeded.vouchers())
    before = _by_kind(first)
    assert after["repayment"]["id"] == before["repayment"]["id"]
    assert after["repayment"]["number"] == before["repayment"]["number"]
    assert Decimal(after["repayment"]["total"]) == Decimal(before["repayment"]["total"]) + 100
    with seeded.session() as session:
        assert session.scalar(select(func.count()).select_from(Voucher)) == 4
        assert session.scalar(select(func.count()).select_from(VoucherLine)) == lines


def test_a_missing_mapping_makes_nothing(seeded: Seeded) -> None:
    from loandesk_vouchers.models import Voucher

    seeded.map_all(skip=("penalty_income", "written_off"))
    answer = seeded.generate()
    assert answer.status_code == 422
    body = answer.get_json()
    assert sorted(body["errors"]["mapping"]) == ["penalty/penalty_income", "write_off/written_off"]
    with seeded.session() as session:
        assert session.scalar(select(func.count()).select_from(Voucher)) == 0
    # a kind's own mapping is enough for that kind
    answer = seeded.finance.post(
        "/vouchers/mappings",
        json={
            "kind": "penalty",
            "account": "penalty_income",
            "subject_code": "6011.02",
            "subject_name": "罚息收入",
        },
    )
    assert answer.status_code == 201
    assert seeded.generate().get_json()["errors"]["mapping"] == ["write_off/written_off"]


def test_today_cannot_be_generated_and_mappings_are_checked(seeded: Seeded) -> None:
    from loandesk_vouchers.service import local_today

    seeded.map_all()
    with seeded.session():
        today = local_today()  # the tenant's date (Asia/Shanghai), not the machine's
    answer = seeded.finance.post("/vouchers/generate", json={"day": today.isoformat()})
    assert answer.status_code == 422 and "day" in answer.get_json()["errors"]
    assert seeded.generate().status_code == 200
    bad = seeded.finance.post(
        "/vouchers/mappings",
        json={"kind": "nonsense", "account": "cash", "subject_code": "", "subject_name": "x"},
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"kind", "subject_code"}
    twin = seeded.finance.post(
        "/vouchers/mappings",
        json={"kind": "*", "account": "cash", "subject_code": "1002", "subject_name": "银行存款"},
    )
    assert twin.status_code == 409
    listed = seeded.finance.get("/vouchers/mappings?per_page=5").get_json()
    assert listed["total"] == len(CHART) and len(listed["items"]) == 5
    saved = audit_events(seeded.desk.app, seeded.desk.firm, "vouchers.mapping_saved")
    assert len(saved) == len(CHART)


def test_the_daily_job_makes_yesterdays_vouchers(seeded: Seeded) -> None:
    import uuid

    from loandesk.jobs.runtime import execute

    jobs = seeded.desk.app.extensions["loandesk.jobs"]
    schedules = {s.name: s for _, s in jobs.schedules}
    assert (schedules["vouchers.daily"].cron, schedules["vouchers.daily"].job) == (
        "0 2 * * *",
        "vouchers.generate_daily",
    )
    seeded.map_all()
    tenant = uuid.UUID(seeded.desk.firm.tenant.id)
    execute(
        seeded.desk.app,
        "daily-1",
        "vouchers.generate_daily",
        tenant,
        (DAY.isoformat(),),
        1,
        lambda d, t: None,
    )
    assert len(seeded.vouchers()) == 4
    execute(
        seeded.desk.app, "daily-2", "vouchers.generate_daily", tenant, (), 1, lambda d, t: None
    )  # yesterday (tenant-local): nothing on the ledger
    assert len(seeded.vouchers()) == 4
