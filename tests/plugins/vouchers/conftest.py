# ruff: noqa: F811  (fixtures imported from the repayment and customers tests are used by name)
"""Fixtures for the vouchers plugin: the repayment tests' desk with a penalty-charging product
and the vouchers plugin enabled, a seeded business day ``DAY`` on whose ledger there is a
payout with fees, a repayment of penalty, fees, interest and principal, the night's penalty
interest and a write-off; a full chart-of-accounts mapping; and a Kingdee Cloud WebAPI on
127.0.0.1 (``kingdee``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from loandesk import sdk
from loandesk.finance import Penalty, PenaltyBase
from tests.helpers import ApiClient
from tests.plugins.repayment.conftest import (  # noqa: F401
    FEES_ID,
    PRODUCT_ID,
    Desk,
    Products,
    desk,
    firm,
    product,
)
from tests.plugins.vouchers.kingdee_server import FakeKingdee, running

DAY = dt.date(2025, 3, 20)
PENALTY_ID = uuid.UUID("0190a000-0000-7000-8000-0000000000c1")
ACCT_ID, USERNAME, PASSWORD = "6543210fedcba", "loandesk_api", "Kd-Pa55w0rd!xyz"
BOOK, GROUP = "001", "PRE001"

# ledger account -> (科目代码, 科目名称, aux)
CHART = {
    "receivable_principal": ("1303.01", "贷款-本金", "customer"),
    "receivable_interest": ("1132.01", "应收利息", "none"),
    "receivable_fees": ("1221.01", "其他应收款-手续费", "none"),
    "receivable_penalty": ("1132.02", "应收罚息", "none"),
    "cash": ("1002.01", "银行存款-还款户", "none"),
    "funds_disbursed": ("1002.02", "银行存款-放款户", "none"),
    "interest_income": ("6011.01", "利息收入", "product"),
    "fee_income": ("6021.01", "手续费收入", "none"),
    "penalty_income": ("6011.02", "罚息收入", "none"),
    "credit_balance": ("2241.01", "其他应付款-溢缴款", "none"),
    "written_off": ("1304.01", "贷款损失准备-核销", "none"),
    "recovery_income": ("6301.01", "营业外收入-核销收回", "none"),
}


@dataclass
class Seeded:
    desk: Desk
    admin: ApiClient  # the tenant admin's API client (plugin settings)
    finance: ApiClient  # vouchers.view / manage / mappings
    disbursed_id: str
    paid_id: str
    payment_id: str
    written_off_id: str
    written_off_total: Decimal

    def session(self) -> Any:
        return self.desk.session()

    def map_all(self, skip: tuple[str, ...] = ()) -> None:
        for account, (code, name, aux) in CHART.items():
            if account in skip:
                continue
            body = {
                "kind": "*",
                "account": account,
                "subject_code": code,
                "subject_name": name,
                "aux": aux,
            }
            answer = self.finance.post("/vouchers/mappings", json=body)
            assert answer.status_code == 201, answer.get_json()

    def generate(self, day: dt.date = DAY) -> Any:
        return self.finance.post("/vouchers/generate", json={"day": day.isoformat()})

    def vouchers(self, day: dt.date = DAY) -> list[dict[str, Any]]:
        answer = self.finance.get(f"/vouchers?day={day.isoformat()}&per_page=100")
        assert answer.status_code == 200, answer.get_json()
        return list(answer.get_json()["items"])

    def ledger_nets(self, day: dt.date = DAY) -> dict[tuple[str, str], Decimal]:
        """(event, account) -> debits less credits, read from the ledger table itself."""
        from loandesk_repayment.models import LedgerEntry

        nets: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        with self.session() as session:
            for line in session.scalars(select(LedgerEntry).where(LedgerEntry.booked_on == day)):
                nets[(line.event, line.account)] += line.debit - line.credit
        return dict(nets)

    def settings(self, url: str, **changes: Any) -> None:
        values = {
            "voucher_word": "记",
            "preparer": "张会计",
            "kingdee_base_url": url,
            "kingdee_acct_id": ACCT_ID,
            "kingdee_username": USERNAME,
            "kingdee_password": PASSWORD,
            "kingdee_lcid": 2052,
            "kingdee_account_book": BOOK,
            "kingdee_voucher_group": GROUP,
            "timeout_seconds": 1,
            **changes,
        }
        answer = self.admin.put("/plugins/vouchers", json={"enabled": True, "settings": values})
        assert answer.status_code == 200, answer.get_json()

    def run_push(self, *voucher_ids: str, attempt: int = 1) -> None:
        from loandesk.jobs.runtime import execute

        execute(
            self.desk.app,
            f"push-{uuid.uuid4()}",
            "vouchers.push",
            uuid.UUID(self.desk.firm.tenant.id),
            voucher_ids,
            attempt,
            lambda d, t: None,
        )


def _cob(desk: Desk, day: dt.date) -> None:
    from loandesk_repayment import cob

    with desk.session() as session:
        cob.run_cob(session, day)


@pytest.fixture
def seeded(desk: Desk) -> Iterator[Seeded]:
    plugin = next(
        p
        for p in desk.app.extensions["loandesk.plugins"].pm.get_plugins()
        if isinstance(p, Products)
    )
    plugin.catalogue[PENALTY_ID] = product(
        PENALTY_ID, code="FX09", penalty=Penalty(Decimal("0.18"), PenaltyBase.OVERDUE_PRINCIPAL)
    )
    admin = ApiClient(desk.api.client, desk.firm.tenant.token)
    answer = admin.put("/plugins/vouchers", json={"enabled": True})
    assert answer.status_code == 200, answer.get_json()
    # two months overdue by DAY: the night's close of business charges penalty interest
    paid = desk.book(PENALTY_ID)
    lost = desk.book(PRODUCT_ID, principal="8000.00", periods=6)
    _cob(desk, DAY)
    payment = desk.pay(paid["id"], "1500.00", DAY)
    assert payment.status_code == 201, payment.get_json()
    with desk.session() as session:
        done = sdk.loan_book().write_off(session, uuid.UUID(lost["id"]), DAY, reason="失联")
    fresh = desk.book(FEES_ID, principal="20000.00", disbursed_on=DAY.isoformat())
    yield Seeded(
        desk,
        admin,
        desk.firm.staff["finance"].api,
        fresh["id"],
        paid["id"],
        payment.get_json()["id"],
        lost["id"],
        done.total,
    )


@pytest.fixture
def kingdee() -> Iterator[FakeKingdee]:
    fake = FakeKingdee(
        ACCT_ID, USERNAME, PASSWORD, BOOK, GROUP, {code for code, _, _ in CHART.values()}
    )
    with running(fake) as server:
        yield server
