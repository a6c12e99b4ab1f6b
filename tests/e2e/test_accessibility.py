# ruff: noqa: F811  (fixtures imported from the plugin tests are used by name)
"""The main pages pass axe-core's WCAG 2 A/AA checks (2.0, 2.1 and 2.2) with no serious or
critical violation, in Chinese and in English: signed in as the firm's admin (who may open
every page) over a firm with customers, applications in approval, loans with a case in
collections, a report and a dashboard, so that lists have rows and detail pages have content.
A failure names the page, the language, and each rule with its help text and the selectors of
the elements that break it. No rule is turned off.

axe-core is vendored under ``tests/e2e/vendor/axe-core`` (test-only, never served). The app's
Content-Security-Policy (``script-src 'self'``) refuses an inline ``<script>``, which is what
``page.add_script_tag(path=...)`` adds; the script is therefore run with ``page.evaluate``
(the DevTools protocol's evaluation, which no page policy governs). The page's own policy stays
as it is (no ``bypass_csp``): the pages are checked as people get them."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.e2e.conftest import settled, signed_in
from tests.helpers import ApiClient, TenantFixture
from tests.platform.reports.conftest import WRITE_SCOPES, reports_client
from tests.plugins.collections.conftest import Floor, floor  # noqa: F401
from tests.plugins.customers.conftest import firm, new_customer  # noqa: F401
from tests.plugins.repayment.conftest import desk  # noqa: F401

pytestmark = pytest.mark.slow

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_2_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((n) => n.target.join(" ")),
  }));
}"""


@dataclass
class Office:
    """Tenant A as its admin sees it, with a record of each kind to open."""

    tenant: TenantFixture
    ids: dict[str, str]


@pytest.fixture
def office(app: Flask, client: FlaskClient, floor: Floor, api_a: ApiClient) -> Office:
    from loandesk.fields.forms import published_form
    from loandesk.flows import definitions
    from loandesk.flows.service import latest
    from loandesk.plugins import runtime

    desk_ = floor.desk
    firm_ = desk_.firm
    tenant = firm_.tenant
    officer = firm_.staff["officer1"].api
    ids: dict[str, str] = {"customer": desk_.customer_id}
    new_customer(officer, name="李四", mobile="13900139000")

    assert api_a.put("/plugins/intake", json={"enabled": True}).status_code == 200
    review = {
        "id": "credit_review",
        "type": "approver",
        "name": "credit_review",
        "assignees": [{"kind": "user", "user": tenant.admin_user_id}],
    }
    with desk_.session() as session:
        declared = runtime.record_type("application")
        form = published_form(session, declared)
        _row, problems = definitions.save_draft(session, declared, form, {"nodes": [review]})
        assert problems == {}
        definitions.publish(session, declared, form, note="accessibility")
    for amount in ("30000.00", "80000.00"):
        body = {"customer_id": desk_.customer_id, "amount": amount, "term_months": 12}
        created = officer.post("/applications", json=body)
        assert created.status_code == 201, created.get_json()
        ids["application"] = created.get_json()["id"]
        submitted = officer.post(f"/applications/{ids['application']}/submit")
        assert submitted.status_code == 200, submitted.get_json()
    with desk_.session() as session:
        instance = latest(session, "application", ids["application"])
        assert instance is not None
        ids["approval"] = str(instance.id)

    ids["loan"] = desk_.book()["id"]
    desk_.book(principal="6000.00", periods=6)
    paid = desk_.pay(ids["loan"], "1000.00", on=dt.date(2025, 2, 15))
    assert paid.status_code == 201, paid.get_json()
    floor.cob(dt.date(2025, 3, 20))  # both loans are overdue: cases in the queues
    ids["case"] = floor.case_of(ids["loan"])["id"]

    report = {
        "name": "申请状态",
        "dataset": "intake.applications",
        "spec": {"dimensions": [{"key": "status"}], "measures": ["count", "amount_sum"]},
        "chart_type": "bar",
    }
    admin = reports_client(app, client, tenant.slug, tenant.id, tenant.admin_user_id, WRITE_SCOPES)
    made = admin.post("/reports", json=report)
    assert made.status_code == 201, made.get_json()
    ids["report"] = made.get_json()["id"]
    tile = {"report_id": ids["report"], "x": 0, "y": 0, "w": 6, "h": 4}
    board = {"name": "经营总览", "tiles": [tile], "filters": ["date"]}
    made = admin.post("/dashboards", json=board)
    assert made.status_code == 201, made.get_json()
    ids["dashboard"] = made.get_json()["id"]
    roles = api_a.get("/roles").get_json()
    ids["role"] = next(r["id"] for r in roles if r["key"] == "credit_officer")
    for plugin in MORE_PLUGINS:  # their pages, as a firm that has just enabled them sees them
        enabled = api_a.put(f"/plugins/{plugin}", json={"enabled": True})
        assert enabled.status_code == 200, (plugin, enabled.get_json())
    return Office(tenant, ids)


def submit_empty(page: Any) -> None:
    """Send the page's form as it is: the required fields come back with their messages."""
    page.locator("main button[type=submit].btn-primary").first.click()
    page.wait_for_selector(".form-field.has-error")


@dataclass(frozen=True)
class Page:
    path: Callable[[dict[str, str]], str]  # under /t/<slug>, given the office's ids
    signed_in: bool = True
    then: Callable[[Any], None] | None = None  # what to do on the page before the check


PAGES = {
    "sign-in": Page(lambda ids: "/login", signed_in=False),
    "sign-up": Page(lambda ids: "/signup", signed_in=False),  # outside any tenant
    "sign-up-with-errors": Page(lambda ids: "/signup", signed_in=False, then=submit_empty),
    "home": Page(lambda ids: "/"),
    "customers": Page(lambda ids: "/customers/"),
    "customer": Page(lambda ids: f"/customers/{ids['customer']}"),
    "new-customer-with-errors": Page(lambda ids: "/customers/new", then=submit_empty),
    "new-application": Page(lambda ids: "/applications/new"),
    "applications": Page(lambda ids: "/applications/"),
    "application": Page(lambda ids: f"/applications/{ids['application']}"),
    "approvals-inbox": Page(lambda ids: "/approvals/"),
    "approval": Page(lambda ids: f"/approvals/{ids['approval']}"),
    "loans": Page(lambda ids: "/loans/"),
    "loan-and-schedule": Page(lambda ids: f"/loans/{ids['loan']}"),
    "post-payment": Page(lambda ids: f"/loans/{ids['loan']}/payments/new"),
    "loan-statement": Page(lambda ids: f"/loans/{ids['loan']}/statement"),
    "collections-queue": Page(lambda ids: "/collections/"),
    "collection-case": Page(lambda ids: f"/collections/cases/{ids['case']}"),
    "collections-setup": Page(lambda ids: "/collections/setup"),
    "reports": Page(lambda ids: "/reports"),
    "report": Page(lambda ids: f"/reports/{ids['report']}"),
    "report-designer": Page(lambda ids: "/reports/new?dataset=intake.applications"),
    "dashboards": Page(lambda ids: "/dashboards"),
    "dashboard": Page(lambda ids: f"/dashboards/{ids['dashboard']}"),
    "dashboard-editor": Page(lambda ids: f"/dashboards/{ids['dashboard']}/edit"),
    "form-designer": Page(lambda ids: "/admin/forms/application"),
    "flow-designer": Page(lambda ids: "/admin/flows/application"),
    "automations": Page(lambda ids: "/admin/automations/new"),
    "users": Page(lambda ids: "/admin/users"),
    "new-user": Page(lambda ids: "/admin/users/new"),
    "roles": Page(lambda ids: "/admin/roles"),
    "role": Page(lambda ids: f"/admin/roles/{ids['role']}"),
    "organisation": Page(lambda ids: "/admin/org"),
    "security-settings": Page(lambda ids: "/admin/security"),
    "plugins": Page(lambda ids: "/admin/plugins"),
    "repayment-settings": Page(lambda ids: "/admin/plugins/repayment/settings"),
    "my-account": Page(lambda ids: "/account"),
    "todos": Page(lambda ids: "/todos/"),
    # the other loan modules' pages
    "products": Page(lambda ids: "/products/"),
    "new-product": Page(lambda ids: "/products/new"),
    "repayment-calculator": Page(lambda ids: "/products/calculator"),
    "intake-products": Page(lambda ids: "/applications/products"),
    "channels": Page(lambda ids: "/channels/"),
    "leads": Page(lambda ids: "/channels/leads"),
    "risk-rules": Page(lambda ids: "/risk/"),
    "risk-rules-draft": Page(lambda ids: "/risk/draft"),
    "risk-decisions": Page(lambda ids: "/risk/decisions"),
    "risk-back-tests": Page(lambda ids: "/risk/back-tests"),
    "credit-queries": Page(lambda ids: "/credit/queries"),
    "contracts": Page(lambda ids: "/contracts/"),
    "contract-templates": Page(lambda ids: "/contracts/templates"),
    "disbursements": Page(lambda ids: "/disbursements/"),
    "payout-queue": Page(lambda ids: "/disbursements/queue"),
    "bank-imports": Page(lambda ids: "/loans/bank-imports"),
    "bank-lines": Page(lambda ids: "/loans/bank-lines"),
    "vouchers": Page(lambda ids: "/vouchers/"),
    "voucher-mappings": Page(lambda ids: "/vouchers/mappings"),
    "voucher-reconciliation": Page(lambda ids: "/vouchers/reconciliation"),
    "asset-classes": Page(lambda ids: "/assets/"),
    "write-off-queue": Page(lambda ids: "/assets/write-offs/queue"),
    "early-warning": Page(lambda ids: "/warning/"),
    "warning-model": Page(lambda ids: "/warning/model"),
}
MORE_PLUGINS = (
    "products", "channels", "risk", "credit", "contracts", "disbursement", "vouchers", "assets",
    "warning",
)  # fmt: skip


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A/AA violations on ``page`` as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return list(page.evaluate(RUN_AXE, WCAG_2_A_AA))


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in BLOCKING]


def described(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']}\n" + "".join(f"    {t}\n" for t in v["targets"])
        for v in violations
    )


def loaded(page: Any) -> None:
    """The page and what htmx loads into it on its own (lists, counters, charts)."""
    page.wait_for_load_state("networkidle")
    settled(page)


def sign_in(page: Any, base: str, tenant: TenantFixture) -> None:
    signed_in(page, base, tenant.slug, tenant.admin_email, tenant.admin_password)


def in_language(page: Any, label: str, tag: str) -> None:
    """The page in that language, by the app's own switch (it posts the choice and comes
    back to the same page), unless it is in that language already."""
    from playwright.sync_api import expect

    if page.locator("html").get_attribute("lang") != tag:
        page.locator(".lang-switch button", has_text=label).first.click()
    expect(page.locator("html")).to_have_attribute("lang", tag)


def test_the_main_pages_have_no_serious_accessibility_violation(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    page_allows,  # type: ignore[no-untyped-def]
    office: Office,
) -> None:
    """Every page of ``PAGES`` in Chinese, then in English, in one browser over one seeded
    firm (seeding it is most of the time a page check takes): the signed-out pages first,
    then the rest signed in. Every page is checked before the test fails, and the failure
    lists each page and language with its violations."""
    page = browser_page
    for form in ("/signup", "/customers/new"):  # sent empty on purpose, in each language
        page_allows(422, form)
    failures: dict[str, str] = {}
    checked: list[str] = []
    signed = False
    for name, shown in sorted(PAGES.items(), key=lambda item: item[1].signed_in):
        if shown.signed_in and not signed:
            sign_in(page, live_server, office.tenant)
            signed = True
        prefix = "" if name.startswith("sign-up") else f"/t/{office.tenant.slug}"
        answer = page.goto(f"{live_server}{prefix}{shown.path(office.ids)}")
        assert answer is not None and answer.status == 200, (name, answer and answer.status)
        for label, tag in (("中文", "zh-CN"), ("English", "en")):
            in_language(page, label, tag)
            loaded(page)
            if shown.then is not None:
                shown.then(page)
                loaded(page)
            found = blocking(axe_violations(page))
            if found:
                failures[f"{name} ({label})"] = described(found)
        checked.append(name)
    assert sorted(checked) == sorted(PAGES)
    assert not failures, "\n".join(f"{where}:\n{text}" for where, text in failures.items())


def test_the_check_fails_on_an_unlabelled_field_and_faint_text(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    page_allows,  # type: ignore[no-untyped-def]
    tenant_a: TenantFixture,
) -> None:
    from playwright.sync_api import Error as PlaywrightError

    page_allows(console="violates the following Content Security Policy directive")

    page = browser_page
    sign_in(page, live_server, tenant_a)
    loaded(page)
    # Why axe goes in by ``evaluate``: the page's policy refuses the inline script that
    # ``add_script_tag`` adds (Playwright may raise, or the script just does not run).
    with contextlib.suppress(PlaywrightError):
        page.add_script_tag(path=AXE)
    assert page.evaluate("() => typeof window.axe") == "undefined"
    assert blocking(axe_violations(page)) == []
    # Made through the DOM (the page's policy refuses inline styles in markup, not this).
    page.evaluate(
        """() => {
      const main = document.querySelector("main");
      const input = document.createElement("input");
      input.type = "text"; input.id = "unlabelled";
      const faint = document.createElement("p");
      faint.id = "faint"; faint.textContent = "几乎看不见 barely visible";
      faint.style.color = "#f2f2f2"; faint.style.background = "#ffffff";  // 1.1:1
      main.append(input, faint);
    }"""
    )
    found = {v["id"]: v for v in blocking(axe_violations(page))}
    assert found["label"]["impact"] == "critical" and found["label"]["targets"] == ["#unlabelled"]
    assert found["color-contrast"]["impact"] == "serious"
    assert found["color-contrast"]["targets"] == ["#faint"]
    assert "label (critical)" in described(list(found.values()))  # what a failure prints
