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
import io
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask import Flask

from tests.helpers import ApiClient, tenant_session
from tests.plugins.vouchers.conftest import CHART  # every account a day's vouchers may touch

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tests.isolation.conftest import Firm

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # a file every image field takes


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

    def new(self, path: str, body: dict[str, Any]) -> str:
        """POST ``body`` to ``path`` as A's admin: the id of the object made (201)."""
        return str(self.post(path, body)["id"])

    def upload(
        self,
        path: str,
        fields: dict[str, str] | None = None,
        *,
        data: bytes = PNG,
        filename: str = "scan.png",
        status: int = 201,
    ) -> str:
        """POST ``fields`` and a file (``multipart/form-data``): the id of the object made."""
        form: dict[str, Any] = {**(fields or {}), "file": (io.BytesIO(data), filename)}
        response = self.api.post(path, data=form, content_type="multipart/form-data")
        assert response.status_code == status, (path, response.status_code, response.get_json())
        return str(response.get_json()["id"])

    @contextmanager
    def session(self) -> Iterator[Session]:
        """The app's session with tenant A current, for the plugins' services."""
        with tenant_session(self.app, self.firm.tenant.slug) as session:
            yield session

    def loan(self, principal: str, periods: int, disbursed_on: str | None = "2025-01-15") -> str:
        """A loan of its own for the shared customer and product (through the API): active,
        paid out on ``disbursed_on``, or pending with ``None``."""
        body: dict[str, Any] = {
            "customer_id": self.value("customer_id"),
            "product_id": self.value("product_id", "/products/"),
            "principal": principal,
            "periods": periods,
        }
        if disbursed_on is not None:
            body["disbursed_on"] = disbursed_on
        return self.new("/loans", body)


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
    return m.new("/users", body)


@factory("role_id")
def _role(m: Maker) -> str:
    body = {"key": "iso_role", "name_zh": "隔离", "name_en": "Isolation", "permissions": []}
    return m.new("/roles", body)


@factory("unit_id")
def _unit(m: Maker) -> str:
    company = m.api.get("/org-units").get_json()["items"][0]["id"]
    return m.new("/org-units", {"parent_id": company, "name": "一组", "kind": "team"})


@factory("pk", under=("/api-clients/", "/admin/api-clients/"))
def _api_client(m: Maker) -> str:
    return m.new("/api-clients", {"name": "erp", "scopes": ["users:read"]})


@factory("template_id", under=("/sms-templates/", "/admin/notifications/sms-templates/"))
def _sms_template(m: Maker) -> str:
    body = {"key": "iso.notice", "name": "通知", "text": "{name}您好", "provider_code": "SMS_1"}
    return m.new("/sms-templates", body)


@factory("todo_id")
def _todo(m: Maker) -> str:
    body = {"title": "回访", "assignee_user_id": m.firm.tenant.admin_user_id}
    return m.new("/todos", body)


@factory("subscription_id", under=("/webhooks/", "/admin/webhooks/"))
def _webhook(m: Maker) -> str:
    return m.new("/webhooks", {"url": "https://1.2.3.4/in", "events": ["*"]})


@factory("view_id")
def _view(m: Maker) -> str:
    body = {"record_type": "customer", "name": "全部", "columns": ["name"], "filters": []}
    return m.new("/views", body)


@factory("report_id")
def _report(m: Maker) -> str:
    body = {
        "name": "申请数",
        "dataset": "intake.applications",
        "spec": {"measures": ["count"]},
        "chart_type": "number",
    }
    return m.new("/reports", body)


@factory("dashboard_id")
def _dashboard(m: Maker) -> str:
    tile = {"report_id": m.value("report_id"), "x": 0, "y": 0, "w": 6, "h": 4}
    return m.new("/dashboards", {"name": "总览", "tiles": [tile]})


@factory("request_id", under=("/data-requests/",))
def _data_request(m: Maker) -> str:
    body = {"kind": "access", "subject_name": "张三", "subject_id_number": "11010519491231002X"}
    return m.new("/data-requests", body)


# --- customers and intake --------------------------------------------------------------------


@factory("customer_id")
def _customer(m: Maker) -> str:
    body = {
        "name": "张三丰",
        "mobile": "13800138000",
        "id_number": "11010519491231002X",
        "monthly_income": "8500.00",
    }
    return m.new("/customers", body)


@factory("contact_id")
def _contact(m: Maker) -> str:
    customer = m.value("customer_id")
    body = {"name": "李四", "relation": "spouse", "mobile": "13900139000"}
    return m.new(f"/customers/{customer}/contacts", body)


@factory("card_id")
def _card(m: Maker) -> str:
    customer = m.value("customer_id")
    body = {
        "bank_name": "中国工商银行",
        "card_number": "6222020200112233446",
        "holder_name": "张三丰",
        "purpose": "disbursement",
    }
    return m.new(f"/customers/{customer}/cards", body)


@factory("consent_id")
def _consent(m: Maker) -> str:
    body = {
        "purpose": "credit_query",
        "text_version": "征信授权书 v3",
        "text_hash": "0" * 64,
        "agreed_at": "2025-03-03T10:00:00+08:00",
        "channel": "paper",
    }
    return m.new(f"/customers/{m.value('customer_id')}/consents", body)


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
    return m.new("/applications/products", body)


@factory("application_id")
def _application(m: Maker) -> str:
    body = {
        "customer_id": m.value("customer_id"),
        "product_id": m.value("product_id", "/applications/products/"),
        "amount": "50000.00",
        "term_months": 12,
    }
    return m.new("/applications", body)


@factory("document_id", under=("/applications/",))
def _document(m: Maker) -> str:
    return m.upload(f"/applications/{m.value('application_id')}/documents", {"kind": "id_front"})


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
    return m.new("/products", {"code": "XF09", "name": "工薪贷", "terms": terms})


@factory("loan_id")
def _loan(m: Maker) -> str:
    return m.loan("12000.00", 12)


@factory("payment_id", under=("/loans/",))
def _payment(m: Maker) -> str:
    body = {"amount": "100.00", "received_on": "2025-02-15"}
    return m.new(f"/loans/{m.value('loan_id')}/payments", body)


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
    return m.new("/automations", body)


@factory("subscription_id", under=("/reports/",))
def _report_subscription(m: Maker) -> str:
    body = {"cron": "0 8 * * 1", "recipients": [m.firm.tenant.admin_user_id]}
    return m.new(f"/reports/{m.value('report_id')}/subscriptions", body)


@factory("channel_id")
def _channel(m: Maker) -> str:
    body = {"code": "AGENTS", "name": "渠道", "kind": "agent", "parent_id": None}
    return m.new("/channels", body)


@factory("message_id")
def _sms_message(m: Maker) -> str:
    """An SMS queued to a borrower (``sdk.send_sms``), with the SMS template made above."""
    from loandesk import sdk

    m.value("template_id", "/sms-templates/")
    with m.session() as session:
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
    with m.session() as session:
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
    instance = m.value("instance_id", "/approvals/")
    return m.upload(f"/approvals/{instance}/attachments", filename="凭证.png")


# --- disbursement ------------------------------------------------------------------------------


@factory("order_id", "disbursement_id", under=("/disbursements/",))
def _disbursement(m: Maker) -> str:
    """A pending loan booked through the loan book, and an order to pay it out (requested while
    the contracts plugin is off: with it on, a loan pays out only once its contract is
    signed)."""
    from decimal import Decimal

    from loandesk import sdk

    admin = uuid.UUID(m.firm.tenant.admin_user_id)
    with m.session() as session:
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
        return m.new("/disbursements", body)
    finally:
        for plugin in ("contracts", "esign_cn"):
            on = m.api.put(f"/plugins/{plugin}", json={"enabled": True})
            assert on.status_code == 200, on.get_json()


# --- contracts ---------------------------------------------------------------------------------


@factory("contract_id")
def _contract(m: Maker) -> str:
    """A pending loan of its own (through the API) and its contract."""
    return m.new("/contracts", {"loan_id": m.loan("8000.00", 6, disbursed_on=None)})


# --- collections -------------------------------------------------------------------------------


@factory("agency_id", under=("/collections/agencies/",))
def _agency(m: Maker) -> str:
    return m.new("/collections/agencies", {"code": "AGA", "name": "AGA 催收公司"})


@factory("queue_id", under=("/collections/queues/",))
def _queue(m: Maker) -> str:
    body = {"code": "M1", "name": "M1 电催组", "balancing": "round_robin",
            "members": [m.firm.tenant.admin_user_id], "agency_id": None}  # fmt: skip
    return m.new("/collections/queues", body)


@factory("rule_id", under=("/collections/rules/", "/collections/setup/rules/"))
def _collections_rule(m: Maker) -> str:
    body = {
        "name": "M1 电催",
        "buckets": "M1",
        "queue_id": m.value("queue_id", "/collections/queues/"),
    }
    return m.new("/collections/rules", body)


@factory("case_id", "collection_case_id", under=("/collections/cases/",))
def _collection_case(m: Maker) -> str:
    """A loan of its own paid out on 2025-01-15 and nothing repaid: the close of business of
    2025-03-20 finds it overdue and opens its case."""
    from loandesk_repayment import cob

    m.value("rule_id", "/collections/rules/")
    loan = m.loan("6000.00", 6)
    with m.session() as session:
        cob.run_cob(session, dt.date(2025, 3, 20))
    listed = m.api.get("/collections/cases?status=all&per_page=100").get_json()["items"]
    return str(next(c["id"] for c in listed if c["loan_id"] == loan))


# --- files, imports, jobs ----------------------------------------------------------------------


@factory("attachment_id", under=("/attachments/",))
def _attachment(m: Maker) -> str:
    """A file uploaded for the customers' ID photo field (an attachment field)."""
    return m.upload("/attachments", {"record_type": "customer", "field": "id_photo_front"})


@factory("batch_id", under=("/imports/",))
def _import_batch(m: Maker) -> str:
    """An Excel import of customers: the template with one row, uploaded (its preview job is
    queued, not run)."""
    from openpyxl import load_workbook

    template = m.api.get("/imports/customer/template")
    assert template.status_code == 200, template.status_code
    book = load_workbook(io.BytesIO(template.data))
    sheet = book.worksheets[0]
    sheet.append(["王五", "110105194912310037", "13700137000"])
    out = io.BytesIO()
    book.save(out)
    return m.upload("/imports/customer", data=out.getvalue(), filename="客户.xlsx", status=202)


@factory("job_id", under=("/admin/jobs/",))
def _job(m: Maker) -> str:
    """The import batch's preview job (queued: nothing runs jobs here)."""
    from sqlalchemy import select

    from loandesk.imports.models import ImportBatch

    batch = uuid.UUID(m.value("batch_id", "/imports/"))
    with m.session() as session:
        job_id = session.scalar(select(ImportBatch.job_id).where(ImportBatch.id == batch))
    assert job_id, "the import batch has no job"
    return str(job_id)


# --- automations and webhooks ------------------------------------------------------------------


@factory("run_id", "firing_id", under=("/automations/runs/", "/admin/automations/"))
def _automation_run(m: Maker) -> str:
    """A failed run of the automation rule: fired for an application that does not exist
    (deleted since), which the engine gives up on at once."""
    from sqlalchemy import select

    from loandesk.automations import engine
    from loandesk.automations.models import AutomationRule, RuleFiring
    from loandesk.plugins import runtime

    rule_id = uuid.UUID(m.value("rule_id", "/automations/"))
    with m.session() as session:
        rule = session.scalar(select(AutomationRule).where(AutomationRule.id == rule_id))
        assert rule is not None
        assert engine.fire(session, rule, str(uuid.uuid4()), "isolation") == 1
        firing = session.scalar(select(RuleFiring).where(RuleFiring.rule_id == rule_id))
        assert firing is not None
        firing_id = firing.id
        types = {t.key: t for t in runtime.record_types()}
        engine.run(session, firing_id, types, runtime.automation_actions())
        failed = session.scalar(select(RuleFiring.state).where(RuleFiring.id == firing_id))
        assert failed == "failed", failed
    return str(firing_id)


@factory("delivery_id", under=("/webhooks/deliveries/", "/admin/webhooks/deliveries/"))
def _webhook_delivery(m: Maker) -> str:
    """A test delivery (ping) of the webhook subscription (queued, never sent here)."""
    return m.new(f"/webhooks/{m.value('subscription_id', '/webhooks/')}/ping", {})


# --- channels ----------------------------------------------------------------------------------


@factory("lead_id")
def _lead(m: Maker) -> str:
    body = {"name": "王五", "mobile": "13700137000", "consent": True}
    return m.new("/channels/leads", body)


# --- repayment ---------------------------------------------------------------------------------


@factory("import_id", under=("/loans/bank-imports/",))
def _bank_import(m: Maker) -> str:
    """A bank statement (建设银行 CSV) with one credit line that matches no loan."""
    from tests.plugins.repayment.bank_samples import Txn, ccb

    line = Txn(dt.date(2025, 2, 20), Decimal("321.00"), "无名氏", "", "货款", "ISO-1")
    return m.upload("/loans/bank-imports", data=ccb([line]), filename="ccb.csv")


@factory("line_id", under=("/loans/bank-lines/",))
def _bank_line(m: Maker) -> str:
    """The statement's unmatched line, waiting in the queue."""
    statement = m.value("import_id", "/loans/bank-imports/")
    waiting = m.api.get("/loans/bank-lines").get_json()["items"]
    return str(next(line["id"] for line in waiting if line["import_id"] == statement))


@factory("run_id", under=("/loans/cob/",))
def _cob_run(m: Maker) -> str:
    """The close of business of 2025-03-20 that opened the collection case (asked again, a
    finished run is answered as it is)."""
    from loandesk_repayment import cob

    m.value("case_id", "/collections/cases/")
    with m.session() as session:
        run = cob.run_cob(session, dt.date(2025, 3, 20))
        assert run.state == "done", run.state
        return str(run.id)


# --- assets, risk, early warning, vouchers ------------------------------------------------------


@factory("write_off_id")
def _write_off(m: Maker) -> str:
    """A write-off request for an active loan of its own."""
    return m.new("/assets/write-offs", {"loan_id": m.loan("3000.00", 3), "reason": "失联"})


@factory("decision_id", under=("/risk/decisions/",))
def _risk_decision(m: Maker) -> str:
    """A risk rule set published, then an application submitted (into the approval flow of
    ``instance_id``): the decision made at its submission."""
    m.value("instance_id", "/approvals/")  # the published approval flow
    rule = {"key": "big", "name_zh": "大额", "name_en": "Large", "expression": "amount > 100000",
            "outcome": "reject", "reason_code": "R_BIG", "reason_zh": "金额过大",
            "reason_en": "Too large"}  # fmt: skip
    saved = m.api.put("/risk/rule-sets/application/draft", json={"rules": [rule]})
    assert saved.status_code == 200, saved.get_json()
    m.post("/risk/rule-sets/application/publish", {"note": "isolation"})
    body = {
        "customer_id": m.value("customer_id"),
        "product_id": m.value("product_id", "/applications/products/"),
        "amount": "30000.00",
        "term_months": 12,
    }
    application = m.new("/applications", body)
    m.post(f"/applications/{application}/submit", {}, status=200)
    decisions = m.api.get(f"/risk/applications/{application}/decisions").get_json()
    return str(decisions[0]["id"])


@factory("back_test_id")
def _back_test(m: Maker) -> str:
    """The draft rule set tried over the decisions made so far."""
    m.value("decision_id", "/risk/decisions/")
    body = {"since": "2025-01-01", "until": "2030-12-31"}
    return m.new("/risk/rule-sets/application/back-tests", body)


@factory("entry_id", under=("/warning/watchlist/",))
def _watch_entry(m: Maker) -> str:
    """A loan of its own, paid out on 2025-01-15 and scored on 2025-02-10 with nothing paid:
    its first installment is due within days (首期违约风险), so it is on the watch list."""
    from loandesk_warning import scoring
    from loandesk_warning.models import WatchEntry
    from sqlalchemy import select

    loan = uuid.UUID(m.loan("5000.00", 6))
    with m.session() as session:
        scoring.rescore(session, [loan], dt.date(2025, 2, 10))
        entry = session.scalar(select(WatchEntry.id).where(WatchEntry.loan_id == loan))
    assert entry is not None, "the loan is not on the watch list"
    return str(entry)


@factory("mapping_id", under=("/vouchers/mappings/",))
def _voucher_mappings(m: Maker) -> str:
    """The chart-of-accounts mapping of every ledger account: the first one's id."""
    made = [
        m.new("/vouchers/mappings", {"kind": "*", "account": account, "subject_code": code,
                                     "subject_name": name, "aux": aux})
        for account, (code, name, aux) in CHART.items()
    ]  # fmt: skip
    return made[0]


@factory("voucher_id", under=("/vouchers/",))
def _voucher(m: Maker) -> str:
    """The vouchers of 2025-01-15, the day the shared loan was paid out: the first one."""
    m.value("mapping_id", "/vouchers/mappings/")
    m.value("loan_id")
    m.post("/vouchers/generate", {"day": "2025-01-15"}, status=200)
    made = m.api.get("/vouchers?day=2025-01-15").get_json()["items"]
    return str(made[0]["id"])
