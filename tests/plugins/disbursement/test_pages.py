"""The disbursement pages (in English): the list with its status filter and empty state, the
request form reached from a pending loan's page with errors next to the fields, the
approver's queue, and maker-checker through the web (the requester's approve is refused)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.helpers import csrf_from
from tests.plugins.disbursement.conftest import CARD, PAID_ON, Desk


def _post(web: FlaskClient, desk: Desk, path: str, data: dict[str, str]) -> object:
    token = csrf_from(web, desk.page("/"))
    return web.post(desk.page(path), data={**data, "csrf_token": token})


def _field_errors(html: str, name: str) -> str:
    """The markup of the form field ``name`` (its errors are inside)."""
    found = re.search(
        r'<div class="form-field has-error">\s*<label for="f-' + name + r'".*?</div>', html, re.S
    )
    return found.group(0) if found else ""


def test_the_list_is_empty_at_first(desk: Desk) -> None:
    html = desk.browser("finance").get(desk.page("/")).get_data(as_text=True)
    assert "No disbursement orders yet" in html


def test_request_from_the_form_with_errors_next_to_the_fields(desk: Desk) -> None:
    loan_id = desk.book("10000.01", co_lending=True)
    web = desk.browser("officer1")
    form = web.get(desk.page(f"/new?loan_id={loan_id}"))
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert "某某信托" in html and "7,000.00" in html and "3,000.01" in html

    bad = _post(web, desk, "/new", {
        "loan_id": loan_id, "amount": "10000.01", "account_name": "张三丰",
        "account_number": "1234", "bank_name": "",
    })  # fmt: skip
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert _field_errors(html, "account_number") and _field_errors(html, "bank_name")
    assert 'value="张三丰"' in html  # what was typed is kept

    good = _post(web, desk, "/new", {
        "loan_id": loan_id, "amount": "10000.01", "account_name": "张三丰",
        "account_number": CARD, "bank_name": "中国工商银行",
    })  # fmt: skip
    assert good.status_code in (302, 303)
    listing = desk.browser("finance").get(desk.page("/?status=requested")).get_data(as_text=True)
    assert "FK" in listing and "10,000.01" in listing
    assert "No disbursement orders yet" in desk.browser("finance").get(
        desk.page("/?status=paid")
    ).get_data(as_text=True)


def test_maker_checker_on_the_web(desk: Desk) -> None:
    loan_id = desk.book()
    order_id = desk.request(loan_id, by="finance").get_json()["id"]
    maker = desk.browser("finance")
    page = maker.get(desk.page(f"/{order_id}")).get_data(as_text=True)
    assert "another person must review it" in page
    assert f"/{order_id}/approve" not in page
    forced = _post(maker, desk, f"/{order_id}/approve", {})
    assert forced.status_code == 403
    assert desk.api("finance2").get(f"/disbursements/{order_id}").get_json()["status"] == (
        "requested"
    )
    # the maker's queue leaves their own order out; the checker's holds it
    assert "No payout waits for your approval" in maker.get(desk.page("/queue")).get_data(
        as_text=True
    )
    checker = desk.browser("finance2")
    assert order_id in checker.get(desk.page("/queue")).get_data(as_text=True)
    no_reason = _post(checker, desk, f"/{order_id}/reject", {"reason": ""})
    assert no_reason.status_code == 422
    assert _field_errors(no_reason.get_data(as_text=True), "reason")
    approved = _post(checker, desk, f"/{order_id}/approve", {})
    assert approved.status_code in (302, 303)
    assert desk.api("finance").get(f"/disbursements/{order_id}").get_json()["status"] == (
        "approved"
    )


def test_marked_paid_on_the_web(desk: Desk) -> None:
    loan_id = desk.book()
    order_id = desk.approved(loan_id)
    web = desk.browser("finance")
    missing = _post(web, desk, f"/{order_id}/mark-paid", {"bank_reference": "", "paid_on": ""})
    assert missing.status_code == 422
    html = missing.get_data(as_text=True)
    assert _field_errors(html, "bank_reference") and _field_errors(html, "paid_on")
    done = _post(
        web, desk, f"/{order_id}/mark-paid",
        {"bank_reference": "ICBC001", "paid_on": PAID_ON.isoformat()},
    )  # fmt: skip
    assert done.status_code in (302, 303)
    assert desk.loan(loan_id).status == "active"


def test_the_list_is_paginated_and_filtered(desk: Desk, monkeypatch: object) -> None:
    from loandesk_disbursement import views

    monkeypatch.setattr(views, "PER_PAGE", 2)  # type: ignore[attr-defined]
    numbers = [desk.request(desk.book()).get_json()["number"] for _ in range(3)]
    web = desk.browser("finance")
    first = web.get(desk.page("/")).get_data(as_text=True)
    assert [n in first for n in numbers] == [False, True, True]  # newest first
    assert "page=2" in first
    second = web.get(desk.page("/?page=2")).get_data(as_text=True)
    assert numbers[0] in second and numbers[2] not in second
    fragment = web.get(
        desk.page("/?status=requested"), headers={"HX-Request": "true", "HX-Target": "order-list"}
    ).get_data(as_text=True)
    assert "<html" not in fragment and numbers[2] in fragment


def test_paying_from_the_page_twice_pays_once(desk: Desk) -> None:
    loan_id = desk.book()
    order_id = desk.approved(loan_id)
    desk.provider.next = ["PROCESSING"]
    web = desk.browser("finance")
    page = web.get(desk.page(f"/{order_id}")).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert key is not None
    for _ in range(2):  # a double click
        answer = _post(
            web, desk, f"/{order_id}/pay", {"connector": "fakepay", "idempotency_key": key.group(1)}
        )
        assert answer.status_code in (302, 303)
    assert desk.provider.requests == 1
    shown = web.get(desk.page(f"/{order_id}")).get_data(as_text=True)
    assert "Send again" in shown and "P0001" in shown


def test_a_pending_loans_page_offers_the_request_then_lists_the_order(desk: Desk) -> None:
    loan_id = desk.book()
    web = desk.browser("officer1")
    loan_page = f"/t/{desk.firm.tenant.slug}/loans/{loan_id}"
    html = web.get(loan_page).get_data(as_text=True)
    assert 'data-section="disbursement.orders"' in html
    # the action is the link's own text (an empty first cell once made it a link to nothing)
    assert f'/disbursements/new?loan_id={loan_id}">Request payout →</a>' in html
    number = desk.request(loan_id).get_json()["number"]
    html = web.get(loan_page).get_data(as_text=True)
    assert number in html and "Requested" in html
    assert f"/disbursements/new?loan_id={loan_id}" not in html  # one open order at a time
