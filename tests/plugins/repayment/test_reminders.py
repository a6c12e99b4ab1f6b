# ruff: noqa: F811  (fixtures imported from the SMS tests are used by name)
"""Product reminders (还款提醒, issue 10 item 6) end to end: the default reminders of product
XF01, saved on the reminders page, are automation rules on installments; the standard
relative job and the firings runner turn them into SMS through the HTTP SMS gateway connector
(the test gateway on 127.0.0.1 records what reaches it). The T-3 reminder and the due-day
notice reach the borrower's mobile exactly once per installment and date however often the
jobs run; a paid installment gets none, nor the loans of another product, nor the
installments an early repayment superseded."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from tests.helpers import ApiClient, csrf_from, web_login
from tests.platform.flows.conftest import at
from tests.plugins.customers.conftest import new_customer
from tests.plugins.repayment.conftest import CHEAP_ID, PRODUCT_ID, Desk
from tests.plugins.sms_http.conftest import Sms, gateway, sms  # noqa: F401


@pytest.fixture
def reminding(desk: Desk, sms: Sms, api_a: ApiClient) -> Desk:
    """The desk with the SMS gateway, no quiet hours, and XF01's default reminders saved on
    the reminders page by the tenant's admin."""
    answer = api_a.put("/notifications/quiet-hours", json={"start": "00:00", "end": "00:00"})
    assert answer.status_code == 200, answer.get_json()
    browser = admin_browser(desk)
    page = f"/t/{desk.firm.tenant.slug}/loans/reminders"
    token = csrf_from(browser, page)
    answer = browser.post(f"{page}/{PRODUCT_ID}/defaults", data={"csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return desk


def admin_browser(desk: Desk) -> FlaskClient:
    browser = desk.app.test_client()
    assert web_login(browser, desk.firm.tenant).status_code == 302
    return browser


def _customer(desk: Desk, mobile: str) -> str:
    return str(new_customer(desk.firm.staff["officer1"].api, mobile=mobile)["id"])


def _due_dates(desk: Desk, loan_id: str) -> dict[int, dt.date]:
    from loandesk_repayment.models import Installment
    from sqlalchemy import select

    with desk.session() as session:
        rows = session.scalars(
            select(Installment).where(
                Installment.loan_id == uuid.UUID(loan_id), Installment.superseded.is_(False)
            )
        )
        return {row.number: row.due_date for row in rows}


def _look(desk: Desk, moment: datetime) -> int:
    """The relative job, as it runs every few minutes."""
    from loandesk.automations import relative
    from loandesk.plugins import runtime
    from loandesk.tenancy import current

    with desk.session() as session:
        types = {t.key: t for t in runtime.record_types()}
        return relative.run(session, types, current().timezone, moment)


def _run_and_send(desk: Desk, sms: Sms, moment: datetime) -> int:
    """The firings runner, then the outbox job, at ``moment``; how many SMS went."""
    from loandesk.automations import engine
    from loandesk.plugins import runtime

    with desk.session() as session:
        types = {t.key: t for t in runtime.record_types()}
        engine.run_pending(session, types, runtime.automation_actions(), now=moment)
    return sms.send(moment)


def _nine(day: dt.date, minute: int = 0) -> datetime:
    return at(f"{day.isoformat()}T09:{minute:02d}:00")


def test_the_reminder_and_the_due_day_notice_reach_the_borrower_once(
    reminding: Desk, sms: Sms
) -> None:
    desk = reminding
    mine = desk.book()  # XF01, the desk's customer: 13800138000
    other_product = desk.book(CHEAP_ID, customer_id=_customer(desk, "13900139000"))  # XF02
    paid_on_time = desk.book(customer_id=_customer(desk, "13700137000"))  # XF01
    due = _due_dates(desk, mine["id"])[1]
    assert _due_dates(desk, other_product["id"])[1] == due == dt.date(2025, 2, 15)

    reminder_day = due - dt.timedelta(days=3)
    assert _look(desk, at(f"{reminder_day.isoformat()}T08:59:00")) == 0  # not nine yet
    assert _look(desk, _nine(reminder_day)) == 2  # XF01's two loans, not XF02's
    assert _look(desk, _nine(reminder_day, 5)) == 0  # the job comes again: nothing new
    assert _run_and_send(desk, sms, _nine(reminder_day, 1)) == 2
    assert _run_and_send(desk, sms, _nine(reminder_day, 6)) == 0  # run again: nothing
    sent = {m["mobile"]: m["content"] for m in sms.gateway.accepted}
    assert sorted(sent) == ["13700137000", "13800138000"]
    assert sent["13800138000"] == (
        f"【某某小贷】尊敬的客户，您的借款 {mine['number']} 第 1 期应还 1076.19 元，"
        "将于 2025-02-15 到期，请按时还款。"
    )

    sms.now = datetime(2025, 2, 15, 0, 30, tzinfo=UTC)  # the morning of the due day
    paid = desk.pay(paid_on_time["id"], "1076.19", due)
    assert paid.status_code == 201, paid.get_json()
    assert _look(desk, _nine(due)) == 1  # the paid installment gets no notice
    assert _look(desk, _nine(due, 30)) == 0
    assert _run_and_send(desk, sms, _nine(due, 1)) == 1
    assert _run_and_send(desk, sms, _nine(due, 31)) == 0
    assert len(sms.gateway.accepted) == len(sms.gateway.requests) == 3
    last = sms.gateway.accepted[-1]
    assert last["mobile"] == "13800138000"
    assert last["content"] == (
        f"【某某小贷】尊敬的客户，您的借款 {mine['number']} 第 1 期今日到期，"
        "尚需还款 1076.19 元，请于今日还款。"
    )
    next_month = _due_dates(desk, mine["id"])[2] - dt.timedelta(days=3)
    assert _look(desk, _nine(next_month)) == 2  # installment 2 of both XF01 loans, once each


def test_installments_an_early_repayment_superseded_get_no_reminder(
    reminding: Desk, sms: Sms
) -> None:
    from loandesk_repayment.models import Installment
    from sqlalchemy import select

    from loandesk.automations.models import RuleFiring

    desk = reminding
    loan = desk.book()
    sms.now = datetime(2025, 6, 30, 2, 0, tzinfo=UTC)
    assert desk.pay(loan["id"], "5380.95", dt.date(2025, 6, 15)).status_code == 201  # 1-5
    early = desk.api.post(
        f"/loans/{loan['id']}/early-repayment",
        json={"kind": "partial", "amount": "3000.00", "recalculation": "lower_installment",
              "repaid_on": "2025-06-25"},
    )  # fmt: skip
    assert early.status_code == 201, early.get_json()
    with desk.session() as session:
        rows = list(
            session.scalars(
                select(Installment).where(
                    Installment.loan_id == uuid.UUID(loan["id"]),
                    Installment.due_date == dt.date(2025, 7, 15),
                )
            )
        )
        # the old 6th installment (superseded) and the new 7th fall due on the same day
        assert sorted((r.number, r.superseded) for r in rows) == [(6, True), (7, False)]
        live = next(str(r.id) for r in rows if not r.superseded)

    assert _look(desk, _nine(dt.date(2025, 7, 12))) == 1
    with desk.session() as session:
        assert [f.record_id for f in session.scalars(select(RuleFiring))] == [live]
    assert _run_and_send(desk, sms, _nine(dt.date(2025, 7, 12), 1)) == 1
    [sent] = sms.gateway.accepted
    assert "第 7 期" in sent["content"] and "2025-07-15" in sent["content"]
