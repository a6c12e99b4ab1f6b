# ruff: noqa: F811  (fixtures imported from the repayment tests are used by name)
"""Fixtures for early warning: the repayment tests' firm (test products, repayment enabled,
a customer) with the warning plugin enabled, and helpers to book loans paid out some days
before today, post payments, run the scoring job and deliver events as a worker would, and
build loan histories for training without booking thousands of loans."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from loandesk import sdk
from tests.helpers import ApiClient, csrf_from
from tests.plugins.customers.conftest import PASSWORD, firm, new_customer  # noqa: F401
from tests.plugins.repayment.conftest import PRODUCT_ID, Desk, desk  # noqa: F401


class Warn:
    """The desk with early warning enabled, and what its tests do to it."""

    def __init__(self, desk: Desk, admin: ApiClient) -> None:
        self.desk, self.app, self.admin = desk, desk.app, admin
        self.tenant_id = uuid.UUID(desk.firm.tenant.id)

    def session(self) -> Any:
        return self.desk.session()

    def api(self, name: str) -> ApiClient:
        return self.desk.firm.staff[name].api

    def today(self) -> dt.date:
        from loandesk_warning.jobs import local_today

        with self.session():
            return local_today()

    def book(self, days_ago: int, customer_id: str | None = None, **values: Any) -> str:
        """A 12-month loan of 12000.00 paid out ``days_ago`` days before today; its id."""
        disbursed = self.today() - dt.timedelta(days=days_ago)
        body: dict[str, Any] = {"disbursed_on": disbursed.isoformat(), **values}
        if customer_id:
            body["customer_id"] = customer_id
        return str(self.desk.book(PRODUCT_ID, **body)["id"])

    def installments(self, loan_id: str) -> list[sdk.InstallmentLine]:
        with self.session() as session:
            return sdk.loan_book().installments(session, uuid.UUID(loan_id))

    def pay(self, loan_id: str, amount: Decimal | str, on: dt.date | None = None) -> None:
        answer = self.desk.pay(loan_id, str(amount), on or self.today())
        assert answer.status_code == 201, answer.get_json()

    def settings(self, **values: Any) -> None:
        answer = self.admin.put("/plugins/warning", json={"settings": values})
        assert answer.status_code == 200, answer.get_json()

    def run(self, name: str) -> None:
        """Run job ``name`` for the tenant in this process, as a worker would."""
        from loandesk.jobs.runtime import execute

        execute(self.app, f"{name}-{uuid.uuid4()}", name, self.tenant_id, (), 1,
                lambda done, total: None)  # fmt: skip

    def deliver(self) -> None:
        """Deliver pending events to the handlers, then run the rules' firings."""
        self.run("core.deliver_events")
        self.run("core.run_firings")

    def entries(self, name: str = "risk", **query: Any) -> list[dict[str, Any]]:
        answer = self.api(name).get("/warning/watchlist", query_string=query)
        assert answer.status_code == 200, answer.get_json()
        return list(answer.get_json()["items"])

    def entry(self, loan_id: str, status: str = "flagged") -> dict[str, Any] | None:
        found = [e for e in self.entries(status=status) if e["loan_id"] == loan_id]
        return found[0] if found else None

    def events(self, name: str) -> list[Any]:
        from sqlalchemy import select

        from loandesk.events import OutboxEvent

        with self.session() as session:
            return list(
                session.scalars(
                    select(OutboxEvent).where(OutboxEvent.name == name).order_by(OutboxEvent.id)
                )
            )

    def browser(self, name: str) -> Any:
        """A signed-in browser of staff member ``name``, pages in English."""
        web = self.app.test_client()
        login = f"/t/{self.desk.firm.tenant.slug}/login"
        answer = web.post(login, data={
            "email": self.desk.firm.staff[name].email, "password": PASSWORD,
            "csrf_token": csrf_from(web, login),
        })  # fmt: skip
        assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:500]
        with web.session_transaction() as state:
            state["locale"] = "en"
        return web

    def page(self, path: str = "/") -> str:
        return f"/t/{self.desk.firm.tenant.slug}/warning{path}"


@pytest.fixture
def warn(desk: Desk, api_a: ApiClient) -> Iterator[Warn]:
    answer = api_a.put("/plugins/warning", json={"enabled": True})
    assert answer.status_code == 200, answer.get_json()
    yield Warn(desk, api_a)


# --- histories for training: plain loan-book values, many loans without booking them -------


def history(
    template: sdk.LoanSummary,
    disbursed_on: dt.date,
    payments: list[tuple[dt.date, Decimal]],
    *,
    amount: Decimal = Decimal("1000.00"),
    periods: int = 12,
) -> sdk.LoanHistory:
    """A loan like ``template`` paid out on ``disbursed_on``: ``periods`` monthly
    installments of ``amount`` (30 days apart), and these posted payments."""
    loan = dataclasses.replace(template, id=sdk.uuid7(), disbursed_on=disbursed_on)
    lines = tuple(
        sdk.InstallmentLine(
            number=n,
            due_date=disbursed_on + dt.timedelta(days=30 * n),
            principal_due=amount,
            interest_due=Decimal("0.00"),
            fees_due=Decimal("0.00"),
            penalty_due=Decimal("0.00"),
            paid=Decimal("0.00"),
            outstanding=amount,
            status="pending",
        )
        for n in range(1, periods + 1)
    )
    paid = tuple(
        sdk.PaymentLine(id=sdk.uuid7(), received_on=day, amount=value, status="posted",
                        reference=None)
        for day, value in payments
    )  # fmt: skip
    return sdk.LoanHistory(loan=loan, installments=lines, payments=paid)
