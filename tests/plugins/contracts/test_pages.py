"""The staff pages: the contract list (empty state, pages), a contract's page with its
preview, sending and voiding (the reason's error next to the field), the template editor
and its preview, and the loan page's section."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.helpers import csrf_from
from tests.plugins.contracts.conftest import BORROWER, Office


@pytest.mark.slow  # 21 contracts: 21 PDFs rendered
def test_the_list_shows_an_empty_state_then_pages_through_contracts(office: Office) -> None:
    browser = office.staff_browser()
    base = f"/t/{office.slug}/contracts/"
    assert "No contracts yet" in browser.get(f"{base}?lang=en").get_data(as_text=True)
    numbers = [office.contract(office.pending_loan()["id"])["number"] for _ in range(21)]
    first = browser.get(f"{base}?lang=en").get_data(as_text=True)
    assert numbers[-1] in first and numbers[0] not in first and 'aria-label="Pagination"' in first
    assert numbers[0] in browser.get(f"{base}?page=2&lang=en").get_data(as_text=True)
    assert numbers[0] not in browser.get(f"{base}?status=signed&lang=en").get_data(as_text=True)


def test_a_contract_page_sends_and_voids_with_the_reason_next_to_its_field(
    office: Office,
) -> None:
    contract = office.contract(office.pending_loan()["id"])
    browser = office.staff_browser()
    page = f"/t/{office.slug}/contracts/{contract['id']}"
    html = browser.get(f"{page}?lang=en").get_data(as_text=True)
    assert contract["number"] in html and BORROWER in html and "Send for signing" in html
    document = browser.get(f"{page}/document")
    assert BORROWER in document.get_data(as_text=True)
    assert document.headers["X-Frame-Options"] == "SAMEORIGIN"

    token = csrf_from(browser, f"{page}?lang=en")
    sent = browser.post(f"{page}/send?lang=en", data={"csrf_token": token})
    assert sent.status_code == 302
    assert office.api.get(f"/contracts/{contract['id']}").get_json()["status"] == "sent"

    refused = browser.post(f"{page}/void?lang=en", data={"csrf_token": token, "reason": ""})
    assert refused.status_code == 422
    field = re.search(
        r'<div class="form-field has-error">.*?</div>', refused.get_data(as_text=True), re.S
    )
    assert field and 'name="reason"' in field.group(0)
    voided = browser.post(f"{page}/void", data={"csrf_token": token, "reason": "借款人放弃"})
    assert voided.status_code == 302
    assert office.api.get(f"/contracts/{contract['id']}").get_json()["void_reason"] == "借款人放弃"


def test_the_template_editor_previews_on_the_sample_loan_and_keeps_a_broken_template(
    office: Office,
) -> None:
    browser = office.staff_browser("risk")
    editor = f"/t/{office.slug}/contracts/templates/edit"
    html = browser.get(f"{editor}?lang=en").get_data(as_text=True)
    assert "借款合同" in html and "template-preview" in html
    token = csrf_from(browser, f"{editor}?lang=en")
    preview = browser.post(
        f"/t/{office.slug}/contracts/templates/preview",
        data={
            "csrf_token": token,
            "body": "<p>{{ borrower.name }} {{ loan.principal|capitals }}</p>",
        },
    )
    assert preview.status_code == 200 and "王玥堃 壹万贰仟元整" in preview.get_data(as_text=True)
    broken = "<p>{{ loan.principal|nope }}</p>"
    saved = browser.post(
        f"{editor}?lang=en", data={"csrf_token": token, "name": "默认", "body": broken, "css": ""}
    )
    assert saved.status_code == 422
    page = saved.get_data(as_text=True)
    assert "nope" in page and "{{ loan.principal|nope }}" in page  # what was typed is kept


def _sections(office: Office, loan_id: str) -> list[Any]:
    """The loan page's sections as the finance clerk sees them."""
    from flask import g

    from loandesk import sdk
    from loandesk.auth.models import User

    staff = office.desk.firm.staff["finance"]
    page = f"/t/{office.slug}/contracts/"
    with office.app.test_request_context(page), office.session() as session:
        g.tenant = sdk.current()  # as the tenant's pages have it, for their links
        g.user = session.get(
            User, (uuid.UUID(office.desk.firm.tenant.id), uuid.UUID(staff.user_id))
        )
        return sdk.record_sections(session, "loan", loan_id)


def test_the_loan_page_section_lists_the_contract_or_offers_to_make_it(office: Office) -> None:
    loan = office.pending_loan()
    before = _sections(office, loan["id"])
    assert [s.key for s in before] == ["contracts.contracts"]
    assert before[0].rows[0].url and "loan_id=" in before[0].rows[0].url
    assert before[0].rows[0].cells[0]  # the link is on the first cell: it says what it does
    contract = office.contract(loan["id"])
    after = _sections(office, loan["id"])
    assert after[0].rows[0].cells[0] == contract["number"]
    assert len(after[0].rows) == 1
    assert _sections(office, loan["id"]) and office.api.get("/contracts").status_code == 200
