"""``loandesk_loan_positions`` from close of business (日终) and from a payment: a plugin that
implements it hears every loan still in arrears and every bucket move of each chunk, and a
payment on a loan close of business has seen; without such a plugin enabled, nothing is
read for it (``sdk.hook_implemented``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from loandesk.plugins.info import PluginInfo
from loandesk.sdk import hookimpl
from tests.plugins.repayment.conftest import Desk
from tests.plugins.repayment.test_cob import _cob, _owed_by, _seed


class Listener:
    """A plugin that keeps every position it is handed."""

    PLUGIN = PluginInfo(
        name="testpositions", title_zh="测试逾期跟踪", title_en="Test positions", version="1"
    )

    def __init__(self) -> None:
        self.heard: list[Any] = []

    @hookimpl
    def loandesk_loan_positions(self, session: Any, positions: list[Any]) -> None:
        self.heard.extend(positions)


@pytest.fixture
def listener(desk: Desk) -> Iterator[Listener]:
    plugin = Listener()
    host = desk.app.extensions["loandesk.plugins"]
    host.register(plugin)
    try:
        yield plugin
    finally:
        host.pm.unregister(plugin)
        host.infos.pop("testpositions", None)
        host.contributions.pop("testpositions", None)


def _enable(desk: Desk, enabled: bool) -> None:
    from tests.helpers import ApiClient

    admin = ApiClient(desk.api.client, desk.firm.tenant.token)
    answer = admin.put("/plugins/testpositions", json={"enabled": enabled})
    assert answer.status_code == 200, answer.get_json()


def test_positions_go_to_an_enabled_listener_after_each_chunk_and_a_payment(
    desk: Desk, listener: Listener
) -> None:
    from loandesk_repayment.models import Loan

    from loandesk import sdk

    ids = _seed(desk, 12)
    _enable(desk, True)
    with desk.session():
        assert sdk.hook_implemented("loandesk_loan_positions")
    day = dt.date(2025, 6, 10)
    _cob(desk, day, chunk_size=5)
    with desk.session() as session:
        loans = {loan.id: loan for loan in session.scalars(select(Loan))}
    in_arrears = {i for i, loan in loans.items() if loan.days_past_due > 0}
    heard = {p.id: p for p in listener.heard}
    assert in_arrears and in_arrears <= set(heard)
    for position in heard.values():
        loan = loans[position.id]
        assert (position.business_date, position.cause) == (day, "cob")
        assert (position.days_past_due, position.bucket) == (loan.days_past_due, loan.bucket)
        assert position.overdue_amount == loan.overdue_amount
        assert position.days_past_due > 0 or position.bucket != position.previous_bucket

    listener.heard.clear()
    late = next(str(i) for i in sorted(in_arrears))
    with desk.session() as session:
        owed = _owed_by(session, late, day)
    assert desk.pay(late, f"{owed:.2f}", day).status_code == 201
    (paid,) = listener.heard
    assert (paid.id, paid.cause, paid.days_past_due, paid.bucket) == (
        uuid.UUID(late), "payment", 0, "M0",
    )  # fmt: skip
    assert paid.previous_bucket == heard[uuid.UUID(late)].bucket != "M0"
    assert paid.overdue_amount == Decimal("0.00")
    assert ids


def test_without_a_listener_enabled_no_position_is_read(
    desk: Desk, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loandesk_repayment import cob_positions

    from loandesk import sdk

    _seed(desk, 6)
    _enable(desk, False)
    with desk.session():
        assert not sdk.hook_implemented("loandesk_loan_positions")
    read: list[int] = []
    original = cob_positions.positions

    def counted(*args: Any, **kw: Any) -> Any:
        read.append(1)
        return original(*args, **kw)

    monkeypatch.setattr(cob_positions, "positions", counted)
    run = _cob(desk, dt.date(2025, 6, 10))
    assert run.state == "done" and run.bucket_changes > 0
    assert read == [] and listener.heard == []
