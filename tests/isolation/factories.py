"""Factories: each makes one real object in tenant A, through the API as A's admin, and returns
its id. They are keyed by a route's parameter name and, where one name means different objects
(``subscription_id`` of a webhook or of a report), by the path the parameter sits under.

A route whose id parameter has no factory fails the isolation suite (see ``routes.py``): add one
here with ``@factory("thing_id", under=("/things/",))`` (``under``: path prefixes after
``/api/v1`` or ``/t/<tenant_slug>``; leave it out when the name means one thing everywhere).
A factory may ask for other parameters' objects with ``m.value("customer_id")``: each is made
once per populated tenant and shared."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask

from tests.helpers import ApiClient, tenant_session

if TYPE_CHECKING:
    from tests.isolation.conftest import Firm


@dataclass(frozen=True)
class Factory:
    name: str
    under: tuple[str, ...]
    make: Callable[[Maker], str]

    def serves(self, path: str) -> bool:
        return not self.under or path.startswith(self.under)


FACTORIES: list[Factory] = []


def factory(*names: str, under: tuple[str, ...] = ()) -> Callable[[Any], Any]:
    """Register the decorated function as the factory of parameters ``names`` under ``under``."""

    def register(make: Callable[[Maker], str]) -> Callable[[Maker], str]:
        FACTORIES.extend(Factory(name, under, make) for name in names)
        return make

    return register


def find(name: str, path: str) -> Factory | None:
    """The factory of parameter ``name`` in a route at ``path`` (the most specific ``under``)."""
    fitting = [f for f in FACTORIES if f.name == name and f.serves(path)]
    fitting.sort(key=lambda f: -max((len(u) for u in f.under), default=0))
    return fitting[0] if fitting else None


@dataclass
class Maker:
    app: Flask
    firm: Firm
    made: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)

    @property
    def api(self) -> ApiClient:
        return self.firm.admin

    def value(self, name: str, path: str = "") -> str:
        found = find(name, path)
        assert found is not None, f"no factory for {name!r} under {path!r}"
        return self.run(found)

    def run(self, found: Factory) -> str:
        key = (found.make.__name__, found.under)
        if key not in self.made:
            self.made[key] = found.make(self)
        return self.made[key]

    def post(self, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
        response = self.api.post(path, json=body)
        assert response.status_code == status, (path, response.status_code, response.get_json())
        return dict(response.get_json())


@dataclass
class World:
    """Tenant A's made objects: the value of each factory, or why it failed."""

    maker: Maker
    errors: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)

    def value(self, found: Factory) -> str:
        key = (found.make.__name__, found.under)
        if key in self.errors:
            raise AssertionError(f"the factory {found.make.__name__} failed: {self.errors[key]}")
        try:
            return self.maker.run(found)
        except Exception as exc:  # remembered: every route needing it reports the same cause
            self.errors[key] = f"{type(exc).__name__}: {exc}"
            raise


def populate(app: Flask, firm: Firm) -> World:
    return World(Maker(app, firm))


# --- the core ------------------------------------------------------------------------------


@factory("user_id")
def _user(m: Maker) -> str:
    body = {"email": "clerk@iso-a.example.cn", "display_name": "职员", "password": "Good-pass-9x"}
    return str(m.post("/users", body)["id"])


@factory("role_id")
def _role(m: Maker) -> str:
    body = {"key": "iso_role", "name_zh": "隔离", "name_en": "Isolation", "permissions": []}
    return str(m.post("/roles", body)["id"])


@factory("unit_id")
def _unit(m: Maker) -> str:
    company = m.api.get("/org-units").get_json()["items"][0]["id"]
    return str(m.post("/org-units", {"parent_id": company, "name": "一组", "kind": "team"})["id"])


@factory("pk", under=("/api-clients/", "/admin/api-clients/"))
def _api_client(m: Maker) -> str:
    return str(m.post("/api-clients", {"name": "erp", "scopes": ["users:read"]})["id"])


@factory("template_id", under=("/sms-templates/", "/admin/notifications/sms-templates/"))
def _sms_template(m: Maker) -> str:
    body = {"key": "iso.notice", "name": "通知", "text": "{name}您好", "provider_code": "SMS_1"}
    return str(m.post("/sms-templates", body)["id"])


@factory("todo_id")
def _todo(m: Maker) -> str:
    body = {"title": "回访", "assignee_user_id": m.firm.tenant.admin_user_id}
    return str(m.post("/todos", body)["id"])


@factory("subscription_id", under=("/webhooks/", "/admin/webhooks/"))
def _webhook(m: Maker) -> str:
    return str(m.post("/webhooks", {"url": "https://1.2.3.4/in", "events": ["*"]})["id"])


@factory("view_id")
def _view(m: Maker) -> str:
    body = {"record_type": "customer", "name": "全部", "columns": ["name"], "filters": []}
    return str(m.post("/views", body)["id"])


@factory("report_id")
def _report(m: Maker) -> str:
    body = {
        "name": "申请数",
        "dataset": "intake.applications",
        "spec": {"measures": ["count"]},
        "chart_type": "number",
    }
    return str(m.post("/reports", body)["id"])


@factory("dashboard_id")
def _dashboard(m: Maker) -> str:
    tile = {"report_id": m.value("report_id"), "x": 0, "y": 0, "w": 6, "h": 4}
    return str(m.post("/dashboards", {"name": "总览", "tiles": [tile]})["id"])


@factory("request_id", under=("/data-requests/",))
def _data_request(m: Maker) -> str:
    body = {"kind": "access", "subject_name": "张三", "subject_id_number": "11010519491231002X"}
    return str(m.post("/data-requests", body)["id"])


# --- customers and intake --------------------------------------------------------------------


@factory("customer_id")
def _customer(m: Maker) -> str:
    body = {
        "name": "张三丰",
        "mobile": "13800138000",
        "id_number": "11010519491231002X",
        "monthly_income": "8500.00",
    }
    return str(m.post("/customers", body)["id"])


@factory("contact_id")
def _contact(m: Maker) -> str:
    customer = m.value("customer_id")
    body = {"name": "李四", "relation": "spouse", "mobile": "13900139000"}
    return str(m.post(f"/customers/{customer}/contacts", body)["id"])


@factory("card_id")
def _card(m: Maker) -> str:
    customer = m.value("customer_id")
    body = {
        "bank_name": "中国工商银行",
        "card_number": "6222020200112233446",
        "holder_name": "张三丰",
        "purpose": "disbursement",
    }
    return str(m.post(f"/customers/{customer}/cards", body)["id"])


@factory("consent_id")
def _consent(m: Maker) -> str:
    body = {
        "purpose": "credit_query",
        "text_version": "征信授权书 v3",
        "text_hash": "0" * 64,
        "agreed_at": "2025-03-03T10:00:00+08:00",
        "channel": "paper",
    }
    return str(m.post(f"/customers/{m.value('customer_id')}/consents", body)["id"])


@factory("product_id", under=("/applications/products/",))
def _intake_product(m: Maker) -> str:
    body = {
        "code": "XF01",
        "name": "工薪消费贷",
        "min_amount": "1000.00",
        "max_amount": "200000.00",
        "min_term_months": 3,
        "max_term_months": 36,
        "required_documents": [],
    }
    return str(m.post("/applications/products", body)["id"])


@factory("application_id")
def _application(m: Maker) -> str:
    body = {
        "customer_id": m.value("customer_id"),
        "product_id": m.value("product_id", "/applications/products/"),
        "amount": "50000.00",
        "term_months": 12,
    }
    return str(m.post("/applications", body)["id"])


@factory("document_id", under=("/applications/",))
def _document(m: Maker) -> str:
    import io

    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    response = m.api.post(
        f"/applications/{m.value('application_id')}/documents",
        data={"kind": "id_front", "file": (io.BytesIO(png), "scan.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


# --- products and loans ------------------------------------------------------------------------


@factory("product_id")
def _product(m: Maker) -> str:
    terms = {
        "min_amount": "1000.00",
        "max_amount": "50000.00",
        "min_periods": 3,
        "max_periods": 24,
        "annual_rate": "0.12",
        "frequency": "monthly",
        "method": "equal_installment",
    }
    return str(m.post("/products", {"code": "XF09", "name": "工薪贷", "terms": terms})["id"])


@factory("loan_id")
def _loan(m: Maker) -> str:
    body = {
        "customer_id": m.value("customer_id"),
        "product_id": m.value("product_id", "/products/"),
        "principal": "12000.00",
        "periods": 12,
        "disbursed_on": "2025-01-15",
    }
    return str(m.post("/loans", body)["id"])


@factory("payment_id", under=("/loans/",))
def _payment(m: Maker) -> str:
    body = {"amount": "100.00", "received_on": "2025-02-15"}
    return str(m.post(f"/loans/{m.value('loan_id')}/payments", body)["id"])


@factory("rule_id", under=("/automations/", "/admin/automations/"))
def _automation(m: Maker) -> str:
    body = {
        "name": "批准后提醒签约",
        "record_type": "application",
        "trigger": {"kind": "event", "event": "application.approved"},
        "condition": "amount >= 10000",
        "actions": [
            {
                "type": "create_todo",
                "title": "请联系客户签约",
                "assignee": {"kind": "role", "role": "post_loan_admin"},
                "due": {"days": 1, "at": "18:00"},
            }
        ],
    }
    return str(m.post("/automations", body)["id"])


@factory("subscription_id", under=("/reports/",))
def _report_subscription(m: Maker) -> str:
    body = {"cron": "0 8 * * 1", "recipients": [m.firm.tenant.admin_user_id]}
    return str(m.post(f"/reports/{m.value('report_id')}/subscriptions", body)["id"])


@factory("channel_id")
def _channel(m: Maker) -> str:
    body = {"code": "AGENTS", "name": "渠道", "kind": "agent", "parent_id": None}
    return str(m.post("/channels", body)["id"])


@factory("message_id")
def _sms_message(m: Maker) -> str:
    """An SMS queued to a borrower (``sdk.send_sms``), with the SMS template made above."""
    from loandesk import sdk

    m.value("template_id", "/sms-templates/")
    with tenant_session(m.app, m.firm.tenant.slug) as session:
        message = sdk.send_sms(
            session, "13800138000", "iso.notice", {"name": "张三"}, key="iso:sms", urgent=False
        )
        return str(message.id)


# --- approvals ---------------------------------------------------------------------------------


@factory("instance_id", under=("/approvals/",))
def _approval(m: Maker) -> str:
    """An application flow whose one approver is A's admin, and an application submitted into
    it (its own, so the shared ``application_id`` stays a draft)."""
    from loandesk.fields.forms import published_form
    from loandesk.flows import definitions
    from loandesk.plugins import runtime

    admin = m.firm.tenant.admin_user_id
    node = {"id": "n1", "type": "approver", "name": "初审",
            "assignees": [{"kind": "user", "user": admin}]}  # fmt: skip
    with tenant_session(m.app, m.firm.tenant.slug) as session:
        declared = runtime.record_type("application")
        form = published_form(session, declared)
        _row, problems = definitions.save_draft(session, declared, form, {"nodes": [node]})
        assert problems == {}, problems
        definitions.publish(session, declared, form, note="isolation")
    body = {
        "customer_id": m.value("customer_id"),
        "product_id": m.value("product_id", "/applications/products/"),
        "amount": "20000.00",
        "term_months": 12,
    }
    application = m.post("/applications", body)["id"]
    m.post(f"/applications/{application}/submit", {}, status=200)
    inbox = m.api.get("/approvals").get_json()["items"]
    return str(inbox[0]["id"])


@factory("attachment_id", under=("/approvals/",))
def _approval_file(m: Maker) -> str:
    import io

    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    response = m.api.post(
        f"/approvals/{m.value('instance_id', '/approvals/')}/attachments",
        data={"file": (io.BytesIO(png), "凭证.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


# --- disbursement ------------------------------------------------------------------------------


@factory("order_id", "disbursement_id", under=("/disbursements/",))
def _disbursement(m: Maker) -> str:
    """A pending loan booked through the loan book, and an order to pay it out (requested while
    the contracts plugin is off: with it on, a loan pays out only once its contract is
    signed)."""
    from decimal import Decimal

    from loandesk import sdk

    admin = uuid.UUID(m.firm.tenant.admin_user_id)
    with tenant_session(m.app, m.firm.tenant.slug) as session:
        loan = sdk.loan_book().book(
            session,
            customer_id=uuid.UUID(m.value("customer_id")),
            product_id=uuid.UUID(m.value("product_id", "/products/")),
            principal=Decimal("12000.00"),
            periods=12,
            funders=None,
            owner_id=admin,
            booked_by=admin,
        )
        loan_id = str(loan.id)
    body = {
        "loan_id": loan_id,
        "amount": "12000.00",
        "account_name": "张三丰",
        "account_number": "6222020200112233446",
        "bank_name": "中国工商银行",
    }
    for plugin in ("esign_cn", "contracts"):  # e-signature needs contracts
        off = m.api.put(f"/plugins/{plugin}", json={"enabled": False})
        assert off.status_code == 200, off.get_json()
    try:
        return str(m.post("/disbursements", body)["id"])
    finally:
        for plugin in ("contracts", "esign_cn"):
            on = m.api.put(f"/plugins/{plugin}", json={"enabled": True})
            assert on.status_code == 200, on.get_json()


# --- contracts ---------------------------------------------------------------------------------


@factory("contract_id")
def _contract(m: Maker) -> str:
    """A pending loan of its own (through the API) and its contract."""
    body = {
        "customer_id": m.value("customer_id"),
        "product_id": m.value("product_id", "/products/"),
        "principal": "8000.00",
        "periods": 6,
    }
    loan = m.post("/loans", body)["id"]
    return str(m.post("/contracts", {"loan_id": loan})["id"])


# --- collections -------------------------------------------------------------------------------


@factory("agency_id", under=("/collections/agencies/",))
def _agency(m: Maker) -> str:
    return str(m.post("/collections/agencies", {"code": "AGA", "name": "AGA 催收公司"})["id"])


@factory("queue_id", under=("/collections/queues/",))
def _queue(m: Maker) -> str:
    body = {"code": "M1", "name": "M1 电催组", "balancing": "round_robin",
            "members": [m.firm.tenant.admin_user_id], "agency_id": None}  # fmt: skip
    return str(m.post("/collections/queues", body)["id"])


@factory("rule_id", under=("/collections/rules/", "/collections/setup/rules/"))
def _collections_rule(m: Maker) -> str:
    body = {
        "name": "M1 电催",
        "buckets": "M1",
        "queue_id": m.value("queue_id", "/collections/queues/"),
    }
    return str(m.post("/collections/rules", body)["id"])


@factory("case_id", "collection_case_id", under=("/collections/cases/",))
def _collection_case(m: Maker) -> str:
    """A loan of its own paid out on 2025-01-15 and nothing repaid: the close of business of
    2025-03-20 finds it overdue and opens its case."""
    from loandesk_repayment import cob

    m.value("rule_id", "/collections/rules/")
    body = {
        "customer_id": m.value("customer_id"),
        "product_id": m.value("product_id", "/products/"),
        "principal": "6000.00",
        "periods": 6,
        "disbursed_on": "2025-01-15",
    }
    loan = m.post("/loans", body)["id"]
    with tenant_session(m.app, m.firm.tenant.slug) as session:
        cob.run_cob(session, dt.date(2025, 3, 20))
    listed = m.api.get("/collections/cases?status=all&per_page=100").get_json()["items"]
    return str(next(c["id"] for c in listed if c["loan_id"] == loan))
