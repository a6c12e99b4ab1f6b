"""The loan pages: list (empty state, pages), a loan's page, the payment form with its errors
next to the fields, and reversing from the loan's page with a reason."""

from __future__ import annotations

import re
from decimal import Decimal

from tests.helpers import csrf_from
from tests.plugins.repayment.conftest import Desk, signed_in_as


def test_the_list_says_when_there_are_no_loans_and_pages_through_many(desk: Desk) -> None:
    browser = signed_in_as(desk)
    base = f"/t/{desk.firm.tenant.slug}/loans/"
    empty = browser.get(f"{base}?lang=en").get_data(as_text=True)
    assert "No loans yet." in empty
    numbers = [desk.book(disbursed_on=None)["number"] for _ in range(21)]
    first = browser.get(f"{base}?lang=en").get_data(as_text=True)
    assert numbers[-1] in first and numbers[0] not in first
    assert 'aria-label="Pagination"' in first
    second = browser.get(f"{base}?page=2&lang=en").get_data(as_text=True)
    assert numbers[0] in second
    settled = browser.get(f"{base}?status=settled&lang=en").get_data(as_text=True)
    # a loan number, not any "DK" (a random CSRF token or nonce on the page may hold one)
    assert re.findall(r"DK\d{13}", settled) == []


def test_the_payment_form_shows_errors_next_to_the_fields_and_keeps_what_was_typed(
    desk: Desk,
) -> None:
    loan = desk.book()
    browser = signed_in_as(desk)
    path = f"/t/{desk.firm.tenant.slug}/loans/{loan['id']}/payments/new"
    token = csrf_from(browser, f"{path}?lang=en")
    answer = browser.post(
        f"{path}?lang=en",
        data={
            "amount": "12.345",
            "received_on": "2025-03-01",
            "reference": "R1",
            "csrf_token": token,
        },
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    field = re.search(r'<div class="form-field has-error">.*?</div>', html, re.S)
    assert field and 'name="amount"' in field.group(0) and "two decimals" in field.group(0)
    assert 'value="12.345"' in html and 'value="R1"' in html
    posted = browser.post(
        f"{path}?lang=en",
        data={
            "amount": "300.00",
            "received_on": "2025-03-01",
            "reference": "R1",
            "csrf_token": token,
        },
    )
    assert posted.status_code == 302
    page = browser.get(f"/t/{desk.firm.tenant.slug}/loans/{loan['id']}?lang=en").get_data(
        as_text=True
    )
    assert "300.00" in page and "Repayment schedule" in page and "自有资金" in page
    assert "Reverse" in page
    outstanding = desk.api.get(f"/loans/{loan['id']}").get_json()["outstanding"]["total"]
    grouped = f"{Decimal(outstanding):,.2f}"  # the API's string, shown with thousands separators
    assert "," in grouped and f"<dt>Outstanding</dt><dd>{grouped}</dd>" in page
    statement = browser.get(f"/t/{desk.firm.tenant.slug}/loans/{loan['id']}/statement?lang=en")
    assert "<dt>Principal</dt><dd>12,000.00</dd>" in statement.get_data(as_text=True)


def test_a_payment_is_reversed_from_the_loan_page_with_a_reason(desk: Desk) -> None:
    import datetime as dt

    loan = desk.book()
    payment = desk.pay(loan["id"], "300.00", dt.date(2025, 3, 1)).get_json()
    browser = signed_in_as(desk)
    page = f"/t/{desk.firm.tenant.slug}/loans/{loan['id']}"
    action = f"{page}/payments/{payment['id']}/reverse"
    token = csrf_from(browser, f"{page}?lang=en")
    missing = browser.post(f"{action}?lang=en", data={"reason": "", "csrf_token": token})
    assert missing.status_code == 422
    assert "Say why the payment is reversed" in missing.get_data(as_text=True)
    done = browser.post(f"{action}?lang=en", data={"reason": "客户退款", "csrf_token": token})
    assert done.status_code == 302
    shown = desk.api.get(f"/loans/{loan['id']}/payments").get_json()[0]
    assert (shown["status"], shown["reversal_reason"]) == ("reversed", "客户退款")
    statement = browser.get(f"{page}/statement?lang=en").get_data(as_text=True)
    assert "Reversal" in statement and "客户退款" in statement


def test_the_pages_need_their_permissions_and_the_data_scope(desk: Desk) -> None:
    loan = desk.book(owner_id=desk.firm.staff["officer1"].user_id)
    officer = signed_in_as(desk, "officer1")
    base = f"/t/{desk.firm.tenant.slug}/loans/{loan['id']}"
    assert officer.get(base).status_code == 200
    assert officer.get(f"{base}/payments/new").status_code == 403
    assert loan["number"] in officer.get(f"/t/{desk.firm.tenant.slug}/loans/").get_data(
        as_text=True
    )
    other = signed_in_as(desk, "officer3")  # another team's officer: their own loans only
    assert other.get(base).status_code == 404
    assert loan["number"] not in other.get(f"/t/{desk.firm.tenant.slug}/loans/").get_data(
        as_text=True
    )


def test_the_customers_page_lists_their_loans(desk: Desk) -> None:
    loan = desk.book()
    browser = signed_in_as(desk)
    html = browser.get(f"/t/{desk.firm.tenant.slug}/customers/{desk.customer_id}?lang=en")
    text = html.get_data(as_text=True)
    section = re.search(r'data-section="loans".*?</section>', text, re.S)
    assert section and loan["number"] in section.group(0) and "Active" in section.group(0)
    assert "Nothing yet." not in section.group(0)


def test_funders_are_added_on_their_page_with_errors_next_to_the_fields(desk: Desk) -> None:
    browser = signed_in_as(desk)
    path = f"/t/{desk.firm.tenant.slug}/loans/funders?lang=en"
    assert "No funders yet." in browser.get(path).get_data(as_text=True)
    token = csrf_from(browser, path)
    bad = browser.post(
        path, data={"code": "", "name": "某信托", "kind": "partner", "csrf_token": token}
    )
    assert bad.status_code == 422
    field = re.search(
        r'<div class="form-field has-error">.*?</div>', bad.get_data(as_text=True), re.S
    )
    assert field and 'name="code"' in field.group(0)
    good = browser.post(
        path, data={"code": "TRUST1", "name": "某信托", "kind": "partner", "csrf_token": token}
    )
    assert good.status_code == 302
    assert "TRUST1" in browser.get(path).get_data(as_text=True)
