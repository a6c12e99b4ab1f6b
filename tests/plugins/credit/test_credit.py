"""The credit plugin against a bureau on 127.0.0.1: a customer without a valid credit-query
consent is refused before anything is sent; with it the request is signed and the answer
normalised into variables; a result is reused within the tenant's validity and asked again
after it; every external call is a row with its cost, which finance can list; tenants do not
see each other's; a wrong secret or a failing bureau gives a clear error and a recorded call."""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from tests.helpers import ApiClient, TenantFixture, tenant_session
from tests.plugins.credit.bureau_server import FakeBureau
from tests.plugins.credit.conftest import Desk
from tests.plugins.customers.conftest import add_staff

VARIABLES = {
    "bureau_found": True,
    "bureau_score": 612,
    "bureau_overdue_count_12m": 1,
    "bureau_overdue_max_days_12m": 15,
    "bureau_inquiries_30d": 3,
    "bureau_inquiries_90d": 7,
    "bureau_lenders_90d": 4,
    "bureau_blacklisted": False,
}
OWN_NONE = {"own_applications": 0, "own_approved": 0, "own_rejected": 0}


def _rows(app: Flask, tenant: TenantFixture) -> list[tuple[str, int, str]]:
    """The tenant's credit query rows by hand-written SQL: (status, cost in 分, connector)."""
    with tenant_session(app, tenant.slug) as session:
        found = session.execute(
            text(
                "select status, cost, connector from credit_queries where tenant_id = :t "
                "order by created_at, id"
            ),
            {"t": uuid.UUID(tenant.id).hex if _sqlite(session) else tenant.id},
        )
        return [(s, int(c), k) for s, c, k in found]


def _sqlite(session: object) -> bool:
    return session.get_bind().dialect.name == "sqlite"  # type: ignore[attr-defined]


def test_a_customer_without_consent_is_refused_and_the_bureau_receives_nothing(
    desk: Desk, bureau: FakeBureau, app: Flask
) -> None:
    customer = desk.customer()
    desk.consent(customer, purpose="personal_info")  # another purpose does not count

    answer = desk.query(customer)

    assert answer.status_code == 422
    assert answer.get_json()["errors"] == {
        "customer_id": ["Record the customer's credit query consent first."]
    }
    assert bureau.received == []
    assert _rows(app, desk.firm.tenant) == []


def test_with_consent_the_request_is_signed_and_the_answer_normalised(
    desk: Desk, bureau: FakeBureau, app: Flask
) -> None:
    customer = desk.customer(name="李四", mobile="13912345678", id_number="11010519491231002X")
    consent = desk.consent(customer)

    answer = desk.query(customer)

    assert answer.status_code == 200, answer.get_json()
    result = answer.get_json()
    assert result["cached"] is False
    assert result["connector"] == "credit.bureau"
    assert result["variables"] == {**OWN_NONE, **VARIABLES}  # report_id, accounts: dropped
    [request] = bureau.accepted
    assert request == {
        "id_number": "11010519491231002X",
        "name": "李四",
        "mobile": "13912345678",
        "consent_reference": consent["id"],
        "request_id": result["query_id"],
    }
    assert _rows(app, desk.firm.tenant) == [("ok", 250, "credit.bureau")]
    with tenant_session(app, desk.firm.tenant.slug) as session:
        stored = session.execute(text("select variables from credit_queries")).scalar_one()
    assert "11010519491231002X" not in str(stored) and "13912345678" not in str(stored)


def test_a_result_is_reused_within_its_validity_and_asked_again_after(
    desk: Desk, bureau: FakeBureau, app: Flask
) -> None:
    customer = desk.customer()
    desk.consent(customer)
    first = desk.query(customer).get_json()
    start = desk.now

    desk.now = start + timedelta(days=29, hours=23)
    again = desk.query(customer).get_json()
    assert again["cached"] is True
    assert again["query_id"] == first["query_id"]
    assert again["variables"] == first["variables"]
    assert len(bureau.received) == 1

    desk.now = start + timedelta(days=30, minutes=1)
    later = desk.query(customer).get_json()
    assert later["cached"] is False
    assert later["query_id"] != first["query_id"]
    assert len(bureau.accepted) == 2
    assert _rows(app, desk.firm.tenant) == [("ok", 250, "credit.bureau")] * 2


def test_validity_zero_asks_every_time(desk: Desk, bureau: FakeBureau) -> None:
    desk.configure(validity_days=0)
    customer = desk.customer()
    desk.consent(customer)
    assert [desk.query(customer).get_json()["cached"] for _ in range(2)] == [False, False]
    assert len(bureau.accepted) == 2


def test_a_withdrawn_consent_no_longer_allows_a_query(
    desk: Desk, bureau: FakeBureau, app: Flask
) -> None:
    desk.configure(validity_days=0)
    customer = desk.customer()
    consent = desk.consent(customer)
    assert desk.query(customer).status_code == 200
    withdrawn = desk.officer.post(f"/customers/{customer}/consents/{consent['id']}/withdraw")
    assert withdrawn.status_code == 200

    assert desk.query(customer).status_code == 422
    assert len(bureau.received) == 1


def test_a_consent_agreed_in_the_future_does_not_count_yet(desk: Desk, bureau: FakeBureau) -> None:
    customer = desk.customer()
    desk.consent(customer, agreed_at=(desk.now + timedelta(minutes=3)).isoformat())
    assert desk.query(customer).status_code == 422
    desk.now += timedelta(minutes=4)
    assert desk.query(customer).status_code == 200
    assert len(bureau.received) == 1


def test_a_wrong_secret_is_refused_by_the_bureau_with_a_clear_error(
    desk: Desk, bureau: FakeBureau, app: Flask
) -> None:
    desk.configure(secret_key="not-the-bureau-secret")
    customer = desk.customer()
    desk.consent(customer)

    answer = desk.query(customer)

    assert answer.status_code == 502
    assert answer.get_json()["message"] == (
        "The credit connector gave no result: HTTP 401, code 401: signature mismatch"
    )
    assert len(bureau.received) == 1 and bureau.accepted == []
    assert _rows(app, desk.firm.tenant) == [("failed", 0, "credit.bureau")]
    listed = desk.firm.staff["finance"].api.get("/credit/queries").get_json()["items"]
    assert [(q["status"], q["error"]) for q in listed] == [
        ("failed", "HTTP 401, code 401: signature mismatch")
    ]
    assert "not-the-bureau-secret" not in str(listed)


def test_failures_of_the_bureau_are_clear_and_not_cached(
    desk: Desk, bureau: FakeBureau, app: Flask
) -> None:
    customer = desk.customer()
    desk.consent(customer)
    bureau.answers = ["http500", "garbage", "slow"]
    messages = [desk.query(customer).get_json()["message"] for _ in range(3)]
    bureau.release.set()
    assert messages == [
        "The credit connector gave no result: HTTP 500, code 500: internal error",
        "The credit connector gave no result: HTTP 200: the answer is not JSON",
        "The credit connector gave no result: the bureau cannot be reached: "
        "no answer from 127.0.0.1 within 2 s",
    ]
    assert desk.query(customer).get_json()["cached"] is False
    assert [r[:2] for r in _rows(app, desk.firm.tenant)] == [("failed", 0)] * 3 + [("ok", 250)]


def test_costs_are_counted_per_external_call_and_finance_lists_them(
    desk: Desk, bureau: FakeBureau, app: Flask
) -> None:
    desk.configure(cost_per_query="1.05")
    customers = [desk.customer(mobile=f"1391234567{i}") for i in range(3)]
    for customer in customers:
        desk.consent(customer)
        desk.query(customer)
        desk.query(customer)  # cached: no cost, no row

    assert sum(cost for _, cost, _ in _rows(app, desk.firm.tenant)) == 315
    page = desk.firm.staff["finance"].api.get("/credit/queries?per_page=2").get_json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert {q["cost"] for q in page["items"]} == {"1.05"}
    assert all("variables" not in q for q in page["items"])
    assert desk.firm.staff["collector"].api.get("/credit/queries").status_code == 403
    assert desk.query(customers[0], api=desk.firm.staff["collector"].api).status_code == 403


def test_tenants_do_not_see_each_others_queries_or_customers(
    desk: Desk,
    bureau: FakeBureau,
    api_b: ApiClient,
    tenant_b: TenantFixture,
    app: Flask,
    client: FlaskClient,
) -> None:
    customer = desk.customer()
    desk.consent(customer)
    assert desk.query(customer).status_code == 200

    assert api_b.put("/plugins/customers", json={"enabled": True}).status_code == 200
    answer = api_b.put("/plugins/credit", json={"enabled": True, "settings": desk.settings()})
    assert answer.status_code == 200, answer.get_json()
    unit = api_b.get("/org-units").get_json()["items"][0]["id"]
    other = add_staff(app, client, tenant_b, "b-risk", ["risk_manager", "credit_officer"], unit)
    listed = other.api.get("/credit/queries")
    assert listed.status_code == 200, listed.get_json()
    assert listed.get_json()["total"] == 0
    assert other.api.post("/credit/queries", json={"customer_id": customer}).status_code == 404
    own = desk.firm.staff["risk"].api.get("/credit/queries").get_json()
    assert own["total"] == 1
    assert _rows(app, tenant_b) == []
    assert len(bureau.received) == 1


def test_own_history_is_a_variable_too(desk: Desk, bureau: FakeBureau, app: Flask) -> None:
    from loandesk_credit import service

    customer = desk.customer()
    desk.consent(customer)
    with tenant_session(app, desk.firm.tenant.slug) as session:
        owner = session.execute(
            text("select id, org_unit_id from users where email = :e"),
            {"e": desk.firm.staff["officer1"].email},
        ).one()
        for n, status in enumerate(["draft", "submitted", "approved", "approved", "rejected"]):
            session.execute(
                text(
                    "insert into intake_applications (tenant_id, id, number, customer_id, "
                    "amount, term_months, status, owner_id, org_unit_id, created_at, "
                    "updated_at, custom) values (:t, :id, :no, :c, 100000, 12, :s, :o, :u, "
                    ":now, :now, '{}')"
                ),
                {
                    "t": _id(session, desk.firm.tenant.id),
                    "id": _id(session, str(uuid.uuid4())),
                    "no": f"SQ{n}",
                    "c": _id(session, customer),
                    "s": status,
                    "o": owner[0],
                    "u": owner[1],
                    "now": desk.now.replace(tzinfo=None),
                },
            )
    own = {"own_applications": 4, "own_approved": 2, "own_rejected": 1}
    assert desk.query(customer).get_json()["variables"] == {**own, **VARIABLES}
    with tenant_session(app, desk.firm.tenant.slug) as session:
        assert service.variables(session, uuid.UUID(customer)) == {**own, **VARIABLES}
        desk.now += timedelta(days=31)
        assert service.variables(session, uuid.UUID(customer)) == own  # expired: not shown


def _id(session: object, value: str) -> object:
    return uuid.UUID(value).hex if _sqlite(session) else value


def test_the_example_in_the_docs_signs_as_documented() -> None:
    """docs/connectors.md gives bureau developers this request and signature to check."""
    from loandesk_credit.bureau import request_body, signature
    from loandesk_credit.connectors import Subject

    subject = Subject(
        "11010519491231002X", "张三", "13800138000",
        "0190f3a2-7c1e-7b3a-9d2e-5f1a2b3c4d5e", "0190f3a2-8000-7000-8000-000000000001",
    )  # fmt: skip
    body = request_body(subject)
    assert body.decode() == (
        '{"id_number":"11010519491231002X","name":"张三","mobile":"13800138000",'
        '"consent_reference":"0190f3a2-7c1e-7b3a-9d2e-5f1a2b3c4d5e",'
        '"request_id":"0190f3a2-8000-7000-8000-000000000001"}'
    )
    assert signature("example-secret-key", "POST", "/v1/credit/report", "1772416800", body) == (
        "14d261ef846e0693d96fe7ff1b2046314ab40bbb2506cfe106096d44dec81c57"
    )


def test_the_bureau_url_follows_the_outbound_policy(desk: Desk, bureau: FakeBureau) -> None:
    url = bureau.url.replace("http://", "http://user:pw@")
    answer = desk.admin.put(
        "/plugins/credit", json={"enabled": True, "settings": desk.settings(bureau_url=url)}
    )
    assert answer.status_code == 422
    assert "Leave user names and passwords out of the URL" in str(answer.get_json())
