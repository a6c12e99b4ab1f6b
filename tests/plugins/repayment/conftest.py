# ruff: noqa: F811  (fixtures imported from the customers tests are used by name)
"""Fixtures for the repayment plugin: the customers firm with repayment enabled, a tiny test
plugin answering ``loandesk_product_terms`` (so these tests do not need the products plugin),
and helpers to book loans, snapshot installments and check the ledger."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask

from loandesk.finance import Fee, FeeBasis, FeeKind, Frequency, Method, Part, ProductTerms
from loandesk.plugins.info import PluginInfo
from loandesk.sdk import hookimpl
from tests.helpers import ApiClient, csrf_from, tenant_session
from tests.plugins.customers.conftest import PASSWORD, Firm, firm, new_customer  # noqa: F401

PRODUCT_ID = uuid.UUID("0190a000-0000-7000-8000-000000000001")
CHEAP_ID = uuid.UUID("0190a000-0000-7000-8000-000000000002")
GREEDY_ID = uuid.UUID("0190a000-0000-7000-8000-000000000003")
FEES_ID = uuid.UUID("0190a000-0000-7000-8000-000000000004")
BULLET_ID = uuid.UUID("0190a000-0000-7000-8000-000000000005")
DISBURSED_ON = dt.date(2025, 1, 15)
ALL_DUE_ON = dt.date(2026, 2, 1)  # every installment of a 12-month loan paid out above is due


def product(product_id: uuid.UUID = PRODUCT_ID, **changes: Any) -> ProductTerms:
    """等额本息, 12% a year, 3-24 months, a 10.00 fee with every installment; penalty → fees
    → interest → principal."""
    values: dict[str, Any] = {
        "product_id": product_id,
        "version": 1,
        "code": "XF01",
        "name": "工薪消费贷",
        "min_amount": Decimal("1000.00"),
        "max_amount": Decimal("200000.00"),
        "min_periods": 3,
        "max_periods": 24,
        "annual_rate": Decimal("0.12"),
        "frequency": Frequency.MONTHLY,
        "method": Method.EQUAL_INSTALLMENT,
        "fees": (Fee("service_fee", FeeKind.PER_INSTALLMENT, FeeBasis.FIXED, Decimal("10.00")),),
        "allocation_order": (Part.PENALTY, Part.FEES, Part.INTEREST, Part.PRINCIPAL),
    }
    values.update(changes)
    return ProductTerms(**values)


class Products:
    """The test's product catalogue: answers ``loandesk_product_terms`` and
    ``loandesk_product_catalogue`` from ``catalogue``."""

    PLUGIN = PluginInfo(
        name="testproducts", title_zh="测试产品", title_en="Test products", version="1"
    )

    def __init__(self) -> None:
        self.catalogue = {
            PRODUCT_ID: product(),
            CHEAP_ID: product(
                CHEAP_ID,
                code="XF02",
                method=Method.EQUAL_PRINCIPAL,
                fees=(),
                allocation_order=(Part.INTEREST, Part.PRINCIPAL, Part.FEES, Part.PENALTY),
            ),
            GREEDY_ID: product(GREEDY_ID, code="XF03", annual_rate=Decimal("0.30")),
            BULLET_ID: product(
                BULLET_ID,
                code="XF05",
                min_periods=1,
                max_periods=1,
                frequency=Frequency.SINGLE,
                method=Method.SINGLE_PAYMENT,
                fees=(),
            ),
            FEES_ID: product(
                FEES_ID,
                code="XF04",
                fees=(
                    Fee("service_fee", FeeKind.PER_INSTALLMENT, FeeBasis.FIXED, Decimal("10.00")),
                    Fee("arrangement_fee", FeeKind.UPFRONT, FeeBasis.PERCENT, Decimal("0.01")),
                    Fee(
                        "admin_fee",
                        FeeKind.UPFRONT,
                        FeeBasis.FIXED,
                        Decimal("50.00"),
                        deducted=True,
                    ),
                ),
            ),
        }

    @hookimpl
    def loandesk_product_terms(
        self, session: Any, product_id: uuid.UUID, version: int | None
    ) -> ProductTerms | None:
        return self.catalogue.get(product_id)

    @hookimpl
    def loandesk_product_catalogue(
        self, session: Any, include_inactive: bool
    ) -> list[ProductTerms]:
        return sorted(self.catalogue.values(), key=lambda p: p.code)


@dataclass
class Desk:
    app: Flask
    firm: Firm
    api: ApiClient  # the finance clerk: books loans, posts and reverses payments
    customer_id: str

    def session(self) -> Any:
        return tenant_session(self.app, self.firm.tenant.slug)

    def book(self, product_id: uuid.UUID = PRODUCT_ID, **values: Any) -> dict[str, Any]:
        """A loan of 12000.00 over 12 months paid out on 2025-01-15, through the API."""
        body = {
            "customer_id": self.customer_id,
            "product_id": str(product_id),
            "principal": "12000.00",
            "periods": 12,
            "disbursed_on": DISBURSED_ON.isoformat(),
            **values,
        }
        response = self.api.post("/loans", json=body)
        assert response.status_code == 201, response.get_json()
        return dict(response.get_json())

    def pay(self, loan_id: str, amount: str, on: dt.date = ALL_DUE_ON, **kw: Any) -> Any:
        return self.api.post(
            f"/loans/{loan_id}/payments",
            json={"amount": amount, "received_on": on.isoformat(), **kw.pop("body", {})},
            **kw,
        )


@pytest.fixture
def desk(app: Flask, firm: Firm, api_a: ApiClient) -> Iterator[Desk]:
    """Tenant A's firm with repayment and the test products enabled, and a customer."""
    plugin = Products()
    host = app.extensions["loandesk.plugins"]
    host.register(plugin)
    try:
        for name in ("testproducts", "repayment"):
            answer = api_a.put(f"/plugins/{name}", json={"enabled": True})
            assert answer.status_code == 200, answer.get_json()
        customer = new_customer(firm.staff["officer1"].api)
        yield Desk(app, firm, firm.staff["finance"].api, str(customer["id"]))
    finally:
        host.pm.unregister(plugin)
        host.infos.pop("testproducts", None)
        host.contributions.pop("testproducts", None)


INSTALLMENT_FIELDS = (
    "number",
    "period_start",
    "due_date",
    "principal_due",
    "interest_due",
    "fees_due",
    "penalty_due",
    "principal_paid",
    "interest_paid",
    "fees_paid",
    "penalty_paid",
    "status",
    "paid_on",
)


def snapshot(session: Any, loan_id: Any) -> list[tuple[Any, ...]]:
    """Every field of every installment of the loan, as read from the database now."""
    from loandesk_repayment.models import Installment
    from sqlalchemy import select

    rows = session.scalars(
        select(Installment)
        .where(Installment.loan_id == uuid.UUID(str(loan_id)))
        .order_by(Installment.number)
        .execution_options(populate_existing=True)
    )
    return [tuple(getattr(row, f) for f in INSTALLMENT_FIELDS) for row in rows]


def ledger_problems(session: Any, loan_id: Any) -> list[str]:
    from loandesk_repayment import ledger, loans

    loan = loans.get_loan(session, loan_id)
    session.refresh(loan)
    return ledger.ledger_problems(session, loan)


def signed_in_as(desk: Desk, who: str = "finance") -> Any:
    """A web client signed in as the firm's staff member ``who`` (a Flask test client)."""
    browser = desk.app.test_client()
    login = f"/t/{desk.firm.tenant.slug}/login"
    staff = desk.firm.staff[who]
    answer = browser.post(
        login,
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_from(browser, login)},
    )
    assert answer.status_code == 302
    return browser
