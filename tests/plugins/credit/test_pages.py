"""Credit pages: finance and risk list the external queries with their cost, other staff may
not; a customer's page shows what risk rules read now (bureau variables only with a valid
consent) and queries the bureau only with that consent."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import csrf_from
from tests.plugins.credit.bureau_server import FakeBureau
from tests.plugins.credit.conftest import Desk
from tests.plugins.customers.conftest import PASSWORD


def _browser(app: Flask, desk: Desk, name: str) -> FlaskClient:
    browser = app.test_client()
    login = f"/t/{desk.firm.tenant.slug}/login"
    staff = desk.firm.staff[name]
    answer = browser.post(
        login,
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_from(browser, login)},
    )
    assert answer.status_code == 302
    with browser.session_transaction() as state:
        state["locale"] = "en"
    return browser


def test_finance_lists_the_queries_with_their_cost(desk: Desk, app: Flask) -> None:
    for _ in range(2):
        customer = desk.customer()
        desk.consent(customer)
        assert desk.query(customer).status_code == 200
    path = f"/t/{desk.firm.tenant.slug}/credit/queries"
    page = _browser(app, desk, "finance").get(path).get_data(as_text=True)
    assert "Queries: 2 · cost in total: ¥5.00" in page
    assert page.count('<td data-field="cost">¥2.50</td>') == 2
    assert _browser(app, desk, "officer1").get(path).status_code == 403


def test_a_customer_s_credit_data_needs_the_consent(
    desk: Desk, bureau: FakeBureau, app: Flask
) -> None:
    customer = desk.customer()
    browser = _browser(app, desk, "officer1")
    path = f"/t/{desk.firm.tenant.slug}/credit/customers/{customer}"
    page = browser.get(path).get_data(as_text=True)
    assert "No valid credit-query consent" in page and "Query credit data" not in page
    assert 'data-variable="bureau_score"' not in page
    refused = browser.post(f"{path}/query", data={"csrf_token": csrf_from(browser, path)})
    assert refused.status_code == 302 and bureau.received == []

    desk.consent(customer)
    asked = browser.post(f"{path}/query", data={"csrf_token": csrf_from(browser, path)})
    assert asked.status_code == 302 and len(bureau.accepted) == 1
    page = browser.get(path).get_data(as_text=True)
    assert '<td data-variable="bureau_score">612</td>' in page
    assert "Credit data received." in page
    other = _browser(app, desk, "officer3")  # another team: outside the customer's scope
    assert other.get(path).status_code == 404
