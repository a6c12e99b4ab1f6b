# ruff: noqa: F811  (fixtures imported from other plugins' tests are used by name)
"""Fixtures for the contracts plugin: the repayment tests' desk (the real loan book, a test
product catalogue, a customer) with contracts enabled and a test ``sms`` channel, a borrower
whose name has rare characters (堃 outside GB2312, 䶮 in CJK Extension A), and helpers to
book a pending loan, read the outbox and open the borrower's link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loandesk.sdk import Channel, OutgoingMessage, PluginInfo, hookimpl
from tests.helpers import ApiClient, csrf_from
from tests.plugins.customers.conftest import PASSWORD, firm, new_customer  # noqa: F401
from tests.plugins.repayment.conftest import Desk, desk  # noqa: F401

BORROWER = "刘䶮堃"
MOBILE = "13912345678"


class Texts:
    """A connector plugin giving the ``sms`` channel; it keeps what it is asked to send."""

    PLUGIN = PluginInfo(name="testsms", title_zh="测试短信", title_en="Test SMS", version="1")

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def _send(self, message: OutgoingMessage) -> str:
        self.sent.append(message)
        return f"t-{len(self.sent)}"

    @hookimpl
    def loandesk_notification_channels(self) -> list[Channel]:
        return [Channel("sms", "短信", "SMS", self._send)]


@dataclass
class Office:
    desk: Desk
    texts: Texts
    customer_id: str

    @property
    def app(self) -> Flask:
        return self.desk.app

    @property
    def slug(self) -> str:
        return self.desk.firm.tenant.slug

    @property
    def api(self) -> ApiClient:  # the finance clerk: contracts.manage
        return self.desk.api

    def session(self) -> Any:
        return self.desk.session()

    def pending_loan(self, **values: Any) -> dict[str, Any]:
        body = {
            "customer_id": self.customer_id,
            "product_id": "0190a000-0000-7000-8000-000000000001",
            "principal": "12000.00",
            "periods": 12,
            **values,
        }
        answer = self.api.post("/loans", json=body)
        assert answer.status_code == 201, answer.get_json()
        return dict(answer.get_json())

    def contract(self, loan_id: str) -> dict[str, Any]:
        answer = self.api.post("/contracts", json={"loan_id": loan_id})
        assert answer.status_code == 201, answer.get_json()
        return dict(answer.get_json())

    def sent_contract(self) -> tuple[dict[str, Any], str]:
        """A pending loan's contract, sent: the contract and the borrower's link path."""
        contract = self.contract(self.pending_loan()["id"])
        answer = self.api.post(f"/contracts/{contract['id']}/send")
        assert answer.status_code == 200, answer.get_json()
        return dict(answer.get_json()), self.link()

    def outbox(self) -> list[str]:
        """The bodies of the tenant's queued messages, oldest first."""
        from sqlalchemy import select

        from loandesk.notifications.models import Message

        with self.session() as session:
            return list(session.scalars(select(Message.body).order_by(Message.created_at)))

    def link(self) -> str:
        """The path of the last borrower link texted."""
        for body in reversed(self.outbox()):
            found = re.search(r"https?://[^/]+(/t/[^\s]+/contracts/b/[^\s]+)", body)
            if found:
                return found.group(1)
        raise AssertionError("no link was texted")

    def code(self) -> str:
        for body in reversed(self.outbox()):
            found = re.search(r"验证码(\d{6})", body)
            if found:
                return found.group(1)
        raise AssertionError("no code was texted")

    def staff_browser(self, who: str = "finance") -> FlaskClient:
        browser = self.app.test_client()
        login = f"/t/{self.slug}/login"
        staff = self.desk.firm.staff[who]
        answer = browser.post(
            login,
            data={
                "email": staff.email,
                "password": PASSWORD,
                "csrf_token": csrf_from(browser, login),
            },
        )
        assert answer.status_code == 302
        return browser


@pytest.fixture
def office(desk: Desk, api_a: ApiClient) -> Iterator[Office]:
    """Tenant A with repayment, the test products, contracts and an SMS channel enabled, and
    a borrower named ``BORROWER`` with mobile ``MOBILE``."""
    texts = Texts()
    host = desk.app.extensions["loandesk.plugins"]
    host.register(texts)
    try:
        host.gather_notification_channels()
        for name in ("testsms", "contracts"):
            answer = api_a.put(f"/plugins/{name}", json={"enabled": True})
            assert answer.status_code == 200, answer.get_json()
        customer = new_customer(desk.firm.staff["officer1"].api, name=BORROWER, mobile=MOBILE)
        yield Office(desk, texts, str(customer["id"]))
    finally:
        host.pm.unregister(texts)
        host.infos.pop("testsms", None)
        host.contributions.pop("testsms", None)


def pdf_text(data: bytes) -> str:
    import io

    from pdfminer.high_level import extract_text

    return str(extract_text(io.BytesIO(data)))


def sign_as_borrower(office: Office, link: str) -> None:
    """The borrower ticks agreement, asks for the code and signs (no staff session)."""
    from tests.helpers import csrf_from

    phone = office.app.test_client()
    csrf = csrf_from(phone, link)
    assert phone.post(f"{link}/code", data={"csrf_token": csrf, "agree": "on"}).status_code == 200
    signed = phone.post(
        f"{link}/sign", data={"csrf_token": csrf, "agree": "on", "code": office.code()}
    )
    assert signed.status_code == 303
