"""The collector's pages: the queue lists their cases; the case page shows the loan, the
borrower masked, the bucket's script; the action and promise forms post by htmx (the work
area comes back, problems next to the fields) or as plain forms (a redirect); CSRF is
required. The setup page adds queues, rules, agencies and scripts."""

from __future__ import annotations

import datetime as dt

from tests.helpers import csrf_from
from tests.plugins.collections.conftest import Floor
from tests.plugins.repayment.conftest import signed_in_as

HTMX = {"HX-Request": "true", "HX-Target": "case-work"}


def test_the_collector_works_a_case_from_the_queue_page(floor: Floor) -> None:
    saved = floor.manager.put(
        "/collections/scripts/M1", json={"body": "您好，您的借款已逾期，请尽快还款。"}
    )
    assert saved.status_code == 200, saved.get_json()
    loan = floor.desk.book()
    floor.cob(dt.date(2025, 2, 20))
    case = floor.case_of(loan["id"])
    slug = floor.desk.firm.tenant.slug
    browser = signed_in_as(floor.desk, "phone1")
    queue = browser.get(f"/t/{slug}/collections/?mine=1")
    assert queue.status_code == 200
    assert case["loan_number"] in queue.get_data(as_text=True)
    page_url = f"/t/{slug}/collections/cases/{case['id']}"
    page = browser.get(page_url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "138****8000" in html and "13800138000" not in html
    assert "您好，您的借款已逾期" in html
    token = csrf_from(browser, page_url)

    logged = browser.post(
        f"{page_url}/actions",
        data={"csrf_token": token, "kind": "call", "outcome": "no_answer", "note": "第一次拨打"},
        headers=HTMX,
    )
    assert logged.status_code == 200
    fragment = logged.get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="case-work">') and "第一次拨打" in fragment
    assert "<html" not in fragment

    wrong = browser.post(
        f"{page_url}/promises",
        data={"csrf_token": token, "amount": "-5", "promised_on": "2025-03-01"},
        headers=HTMX,
    )
    assert wrong.status_code == 422
    assert 'id="f-amount-error"' in wrong.get_data(as_text=True)

    plain = browser.post(
        f"{page_url}/promises",
        data={"csrf_token": token, "amount": "800.00", "promised_on": "2025-03-01"},
    )
    assert plain.status_code == 302
    assert "800.00" in browser.get(page_url).get_data(as_text=True)

    forged = browser.post(f"{page_url}/actions", data={"kind": "call", "outcome": "busy"})
    assert forged.status_code in (400, 403)
    detail = floor.manager.get(f"/collections/cases/{case['id']}").get_json()
    assert [a["outcome"] for a in detail["actions"]] == ["no_answer"]


def test_the_queue_page_says_when_there_is_nothing(floor: Floor) -> None:
    browser = signed_in_as(floor.desk, "phone1")
    page = browser.get(f"/t/{floor.desk.firm.tenant.slug}/collections/")
    assert page.status_code == 200
    assert "No cases here" in page.get_data(as_text=True) or "暂无" in page.get_data(as_text=True)


def test_the_setup_page_adds_a_queue_and_shows_problems_next_to_fields(floor: Floor) -> None:
    slug = floor.desk.firm.tenant.slug
    browser = signed_in_as(floor.desk, "manager")
    url = f"/t/{slug}/collections/setup"
    page = browser.get(url)
    assert page.status_code == 200 and "M2 高级组" in page.get_data(as_text=True)
    token = csrf_from(browser, url)
    added = browser.post(
        f"{url}/queues",
        data={"csrf_token": token, "code": "M4", "name": "M4 法务组", "balancing": "least_loaded",
              "members": [floor.user("senior")]},
    )  # fmt: skip
    assert added.status_code == 302
    again = browser.post(
        f"{url}/queues",
        data={"csrf_token": token, "code": "M4", "name": "重复", "balancing": "round_robin"},
    )
    assert again.status_code == 422
    assert 'id="f-queue-code-error"' in again.get_data(as_text=True)
    queues = floor.manager.get("/collections/queues").get_json()
    assert "M4" in {q["code"] for q in queues["items"]}
    collector = signed_in_as(floor.desk, "phone1")
    assert collector.get(url).status_code == 403
