"""Acceptance (issue 9, intake): "Submitting an application missing a required document is
refused with the list of what is missing; nothing is half-saved" — checked in the database
afterwards (status, values, approval, events, audit), through the API and the web page."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from tests.helpers import ApiClient, tenant_session
from tests.plugins.customers.conftest import PASSWORD, Firm, new_customer
from tests.plugins.intake.conftest import new_product, publish_flow, upload
from tests.plugins.risk.conftest import publish as publish_rules
from tests.plugins.risk.conftest import rule


def _stored(app: Flask, firm: Firm, application_id: str) -> dict[str, Any]:
    """What the database holds for the application: its row, approvals, events, audit."""
    from loandesk_intake.models import Application
    from loandesk_risk.models import Decision

    from loandesk.audit.models import AuditEvent
    from loandesk.events import OutboxEvent
    from loandesk.flows.models import FlowInstance

    ident = uuid.UUID(application_id)
    with tenant_session(app, firm.tenant.slug) as session:
        row = session.scalar(select(Application).where(Application.id == ident))
        assert row is not None
        return {
            "status": row.status,
            "amount": row.amount,
            "term_months": row.term_months,
            "submitted_at": row.submitted_at,
            "updated_at": row.updated_at,
            "approvals": session.scalar(
                select(func.count())
                .select_from(FlowInstance)
                .where(FlowInstance.record_id == application_id)
            ),
            "events": sorted(
                session.scalars(
                    select(OutboxEvent.name).where(OutboxEvent.record_id == application_id)
                )
            ),
            "decisions": session.scalar(
                select(func.count()).select_from(Decision).where(Decision.record_id == ident)
            ),
            "submit_audits": session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.action == "application.submit",
                    AuditEvent.record_id == application_id,
                )
            ),
        }


def _draft(firm: Firm, product_id: str) -> str:
    officer = firm.staff["officer1"].api
    customer = new_customer(officer)["id"]
    body = {
        "customer_id": customer,
        "product_id": product_id,
        "amount": "50000.00",
        "term_months": 12,
    }
    created = officer.post("/applications", json=body)
    assert created.status_code == 201, created.get_json()
    return str(created.get_json()["id"])


def test_submitting_without_a_required_document_is_refused_and_nothing_is_half_saved(
    intake: Firm, app: Flask, api_a: ApiClient
) -> None:
    # the risk plugin decides at every submission: a refused one must leave no decision
    assert api_a.put("/plugins/risk", json={"enabled": True}).status_code == 200
    rules = {"rules": [rule("big", "amount > 100000", "refer")]}
    publish_rules(intake.staff["risk"].api, rules)
    publish_flow(app, intake, "risk")
    product = new_product(intake.staff["risk"].api)
    officer = intake.staff["officer1"].api
    application = _draft(intake, product["id"])
    assert upload(officer, application, "id_front").status_code == 201
    before = _stored(app, intake, application)

    refused = officer.post(f"/applications/{application}/submit")

    assert refused.status_code == 422
    body = refused.get_json()
    assert body["code"] == "validation_error"
    assert sorted(body["errors"]) == ["documents.id_back", "documents.income_proof"]
    after = _stored(app, intake, application)
    assert after == before
    assert after["status"] == "draft" and after["submitted_at"] is None
    assert after["approvals"] == after["decisions"] == after["submit_audits"] == 0
    assert "application.submitted" not in after["events"]

    # with every required document it goes through: one approval, the event, submitted
    assert upload(officer, application, "id_back").status_code == 201
    assert upload(officer, application, "income_proof", b"%PDF-1.4\n%%EOF\n").status_code == 201
    accepted = officer.post(f"/applications/{application}/submit")
    assert accepted.status_code == 200, accepted.get_json()
    done = _stored(app, intake, application)
    assert (done["status"], done["approvals"], done["decisions"], done["submit_audits"]) == (
        "submitted",
        1,
        1,
        1,
    )
    assert "application.submitted" in done["events"]
    assert done["amount"] == Decimal("50000.00")


def test_the_web_page_refuses_it_too_naming_the_documents(intake: Firm, app: Flask) -> None:
    from tests.helpers import csrf_from

    publish_flow(app, intake, "risk")
    product = new_product(intake.staff["risk"].api, required_documents=["bank_statement"])
    application = _draft(intake, product["id"])
    before = _stored(app, intake, application)
    browser = app.test_client()
    login = f"/t/{intake.tenant.slug}/login"
    officer = intake.staff["officer1"]
    signed_in = browser.post(
        login,
        data={
            "email": officer.email,
            "password": PASSWORD,
            "csrf_token": csrf_from(browser, login),
        },
    )
    assert signed_in.status_code == 302
    page = f"/t/{intake.tenant.slug}/applications/{application}"
    # staff read Chinese: the kinds' labels are the product's words
    shown = browser.get(page).get_data(as_text=True)
    missing = shown.split('id="missing-documents"', 1)[1].split("</div>", 1)[0]
    assert "银行流水" in missing

    submitted = browser.post(
        f"{page}/submit", data={"csrf_token": csrf_from(browser, page)}, follow_redirects=True
    )
    html = submitted.get_data(as_text=True)
    flashed = html.split("flash-error", 1)[1].split("</div>", 1)[0]
    assert "银行流水" in flashed
    assert _stored(app, intake, application) == before


def test_a_missing_product_and_required_field_are_listed(intake: Firm, app: Flask) -> None:
    from tests.plugins.intake.conftest import define

    new_product(intake.staff["risk"].api)
    officer = intake.staff["officer1"].api
    customer = new_customer(officer)["id"]
    created = officer.post(
        "/applications", json={"customer_id": customer, "amount": "5000.00", "term_months": 6}
    )
    assert created.status_code == 201, created.get_json()
    application = created.get_json()["id"]
    # a field made required after the draft was saved
    define(
        intake_admin(intake),
        {
            "key": "employer_phone",
            "kind": "text",
            "label_zh": "单位电话",
            "label_en": "Work phone",
            "required": True,
        },
    )
    refused = officer.post(f"/applications/{application}/submit")
    assert refused.status_code == 422
    assert sorted(refused.get_json()["errors"]) == ["employer_phone", "product_id"]
    assert _stored(app, intake, application)["status"] == "draft"


def intake_admin(firm: Firm) -> Any:
    """The tenant admin's API client (the fixture's ``api_a``)."""
    from tests.helpers import ApiClient

    officer_client = firm.staff["officer1"].api.client
    return ApiClient(officer_client, firm.tenant.token)
