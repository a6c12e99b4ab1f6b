"""The credit bureau connector: its test only shows that the bureau's URL answers (a ``HEAD``
without key or body: the bureau's one call is a paid query that needs a borrower's consent),
and each real query — one that fails and is rolled back too — is recorded against it."""

from __future__ import annotations

from tests.plugins.credit.bureau_server import FakeBureau
from tests.plugins.credit.conftest import SECRET, Desk
from tests.plugins.customers.conftest import firm  # noqa: F401


def test_the_test_reaches_the_bureau_without_a_query(desk: Desk, bureau: FakeBureau) -> None:
    found = desk.admin.post("/connectors/credit.bureau/test").get_json()
    assert found["state"] == "ok", found
    # the test bureau speaks POST only: a 501 still shows a server answering at the URL
    assert found["last_success_detail"].startswith("the bureau answers (HTTP 501)")
    assert bureau.received == []

    desk.configure(bureau_url="http://127.0.0.1:9/v1/credit/report")
    found = desk.admin.post("/connectors/credit.bureau/test").get_json()
    assert (found["state"], found["last_error"]) == (
        "failing", "the bureau cannot be reached (ConnectionError)"
    )  # fmt: skip


def test_queries_are_recorded_even_when_the_caller_rolls_back(
    desk: Desk, bureau: FakeBureau
) -> None:
    customer = desk.customer()
    desk.consent(customer)
    assert desk.query(customer).status_code == 200
    (item,) = desk.admin.get("/connectors").get_json()["items"]
    assert (item["key"], item["state"]) == ("credit.bureau", "ok")

    bureau.answers.append("http500")
    desk.configure(validity_days=0)
    assert desk.query(customer).status_code == 502
    (item,) = desk.admin.get("/connectors").get_json()["items"]
    assert item["state"] == "failing"
    assert item["last_error"] == "HTTP 500, code 500: internal error"
    assert SECRET not in item["last_error"]
