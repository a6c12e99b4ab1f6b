# ruff: noqa: F811  (fixtures imported from the customers tests are used by name)
"""Fixtures for the disbursement plugin: the customers firm with products, repayment (the loan
book) and disbursement enabled, a second finance clerk (maker-checker needs two), a product,
a customer, two funders for co-lending, the test payout provider (``payout_server``) with its
connector plugin, and a test plugin that blocks payouts on demand (as the contracts plugin
does until a contract is signed)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loandesk.sdk import PluginInfo, hookimpl
from tests.helpers import ApiClient, csrf_from, tenant_session
from tests.plugins.customers.conftest import (  # noqa: F401
    PASSWORD,
    Firm,
    add_staff,
    firm,
    new_customer,
)
from tests.plugins.disbursement.payout_server import FakeProvider, HttpPayouts, running

TERMS: dict[str, Any] = {
    "min_amount": "1000.00",
    "max_amount": "50000.00",
    "min_periods": 3,
    "max_periods": 24,
    "annual_rate": "0.12",
    "frequency": "monthly",
    "method": "equal_installment",
}
CARD = "6222020200112233446"  # Luhn-valid
PAID_ON = dt.date(2025, 3, 3)


class Blockers:
    """Objects to payouts of the loans in ``reasons`` (as a contracts plugin would)."""

    PLUGIN = PluginInfo(name="testblockers", title_zh="测试", title_en="Test", version="1")

    def __init__(self) -> None:
        self.reasons: dict[str, list[str]] = {}

    @hookimpl
    def loandesk_payout_blockers(self, session: Any, loan_id: uuid.UUID) -> list[str] | None:
        return self.reasons.get(str(loan_id))


@dataclass
class Desk:
    app: Flask
    firm: Firm
    product_id: str
    tranche_product_id: str
    customer_id: str
    provider: FakeProvider
    blockers: Blockers
    funders: dict[str, str] = field(default_factory=dict)

    def api(self, name: str) -> ApiClient:
        return self.firm.staff[name].api

    def user_id(self, name: str) -> uuid.UUID:
        return uuid.UUID(self.firm.staff[name].user_id)

    def session(self) -> Any:
        return tenant_session(self.app, self.firm.tenant.slug)

    def book(
        self, principal: str = "12000.00", periods: int = 12, *, co_lending: bool = False,
        product_id: str | None = None,
    ) -> str:  # fmt: skip
        """A pending loan through the loan book, owned by officer1; its id."""
        from loandesk import sdk

        shares = [{"code": "XT", "share": "0.7"}, {"code": "ZY", "share": "0.3"}]
        with self.session() as session:
            loan = sdk.loan_book().book(
                session,
                customer_id=uuid.UUID(self.customer_id),
                product_id=uuid.UUID(product_id or self.product_id),
                principal=Decimal(principal),
                periods=periods,
                funders=shares if co_lending else None,
                owner_id=self.user_id("officer1"),
                booked_by=self.user_id("finance"),
            )
            assert loan.status == "pending"
            return str(loan.id)

    def loan(self, loan_id: str) -> Any:
        from loandesk import sdk

        with self.session() as session:
            return sdk.loan_book().get(session, uuid.UUID(loan_id))

    def installments(self, loan_id: str) -> list[Any]:
        from loandesk import sdk

        with self.session() as session:
            return sdk.loan_book().installments(session, uuid.UUID(loan_id))

    def request(
        self, loan_id: str, by: str = "officer1", headers: dict[str, str] | None = None,
        **changes: Any,
    ) -> Any:  # fmt: skip
        body = {
            "loan_id": loan_id,
            "amount": "12000.00",
            "account_name": "张三丰",
            "account_number": CARD,
            "bank_name": "中国工商银行",
            **changes,
        }
        return self.api(by).post("/disbursements", json=body, headers=headers or {})

    def approved(self, loan_id: str) -> str:
        """An order requested by officer1 and approved by finance; its id."""
        made = self.request(loan_id)
        assert made.status_code == 201, made.get_json()
        order_id = made.get_json()["id"]
        answer = self.api("finance").post(f"/disbursements/{order_id}/approve")
        assert answer.status_code == 200, answer.get_json()
        return str(order_id)

    def browser(self, name: str) -> FlaskClient:
        """A signed-in browser of staff member ``name``, pages in English."""
        web = self.app.test_client()
        login = f"/t/{self.firm.tenant.slug}/login"
        answer = web.post(login, data={
            "email": self.firm.staff[name].email, "password": PASSWORD,
            "csrf_token": csrf_from(web, login),
        })  # fmt: skip
        assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:500]
        with web.session_transaction() as state:
            state["locale"] = "en"
        return web

    def page(self, path: str) -> str:
        return f"/t/{self.firm.tenant.slug}/disbursements{path}"


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with running(FakeProvider()) as server:
        yield server


@pytest.fixture
def desk(
    app: Flask, client: FlaskClient, firm: Firm, api_a: ApiClient, provider: FakeProvider
) -> Iterator[Desk]:
    host = app.extensions["loandesk.plugins"]
    connector, blockers = HttpPayouts(provider), Blockers()
    host.register(connector)
    host.register(blockers)
    try:
        for name in (
            "products",
            "repayment",
            "disbursement",
            "fakepay",
            "testblockers",
        ):
            answer = api_a.put(f"/plugins/{name}", json={"enabled": True})
            assert answer.status_code == 200, answer.get_json()
        firm.staff["finance2"] = add_staff(
            app, client, firm.tenant, "finance2", ["finance"], firm.units["company"]
        )
        products = []
        for code, name, extra in (
            ("XF01", "工薪消费贷", {}),
            ("XF09", "装修分期贷", {"tranches_allowed": True}),
        ):
            made = firm.staff["risk"].api.post(
                "/products", json={"code": code, "name": name, "terms": {**TERMS, **extra}}
            )
            assert made.status_code == 201, made.get_json()
            products.append(str(made.get_json()["id"]))
        funders = {}
        for code, name, kind in (("XT", "某某信托", "partner"), ("ZY", "自有资金池", "own")):
            made = firm.staff["finance"].api.post(
                "/loans/funders", json={"code": code, "name": name, "kind": kind}
            )
            assert made.status_code == 201, made.get_json()
            funders[code] = str(made.get_json()["id"])
        customer = new_customer(firm.staff["officer1"].api)
        yield Desk(
            app, firm, products[0], products[1], str(customer["id"]), provider, blockers, funders
        )
    finally:
        for plugin, name in (
            (connector, "fakepay"),
            (blockers, "testblockers"),
        ):
            host.pm.unregister(plugin)
            host.infos.pop(name, None)
            host.contributions.pop(name, None)
