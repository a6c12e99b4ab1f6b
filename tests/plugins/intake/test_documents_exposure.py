"""Documents on an application, the duplicate and exposure checks, the partner path with an
``Idempotency-Key``, and the status machine (in review, contracted)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from loandesk.sdk import PluginInfo, hookimpl
from tests.helpers import ApiClient, tenant_session
from tests.plugins.customers.conftest import Firm, legacy_id_number, new_customer
from tests.plugins.intake.conftest import PDF, new_product, publish_flow, upload


def _apply(api: ApiClient, customer: Any, amount: str = "50000.00", **extra: Any) -> Any:
    body = {"customer_id": customer, "amount": amount, "term_months": 12, **extra}
    return api.post("/applications", json=body)


def test_documents_are_kept_by_kind_and_follow_the_applications_scope(intake: Firm) -> None:
    officer = intake.staff["officer1"].api
    application = _apply(officer, new_customer(officer)["id"]).get_json()["id"]

    assert list(upload(officer, application, "payslip").get_json()["errors"]) == ["kind"]
    not_an_image = upload(officer, application, "id_front", PDF)
    assert not_an_image.status_code == 422 and list(not_an_image.get_json()["errors"]) == ["file"]
    added = upload(officer, application, "income_proof", PDF)
    assert added.status_code == 201, added.get_json()
    document = added.get_json()
    assert document["kind"] == "income_proof" and document["filename"] == "scan.pdf"

    content = officer.get(document["download_url"].removeprefix("/api/v1"))
    assert content.status_code == 200 and content.data == PDF
    shown = officer.get(f"/applications/{application}").get_json()
    assert [d["kind"] for d in shown["documents"]] == ["income_proof"]
    # an officer of another team sees neither the application nor its files
    other = intake.staff["officer3"].api
    assert other.get(f"/applications/{application}/documents").status_code == 404
    assert other.get(document["download_url"].removeprefix("/api/v1")).status_code == 404

    removed = officer.delete(f"/applications/{application}/documents/{document['id']}")
    assert removed.status_code == 204
    assert officer.get(f"/applications/{application}/documents").get_json() == []


def test_other_open_applications_of_the_same_id_number_count_towards_the_limit(
    app: Flask, intake: Firm, api_a: ApiClient
) -> None:
    officer = intake.staff["officer1"].api
    first = new_customer(officer, id_number="11010519491231002X")["id"]
    # the same person entered again as another customer record (same ID number), as records
    # made before the one-customer-per-ID-number rule may be
    second = new_customer(officer, name="张三")["id"]
    legacy_id_number(app, intake, second, "11010519491231002X")
    stranger = new_customer(officer, name="李四", id_number="110105199003071239")["id"]
    earlier = _apply(officer, first, "60000.00").get_json()
    later = _apply(officer, second, "30000.00")
    assert later.status_code == 201, later.get_json()
    exposure = later.get_json()["exposure"]
    assert [o["number"] for o in exposure["others"]] == [earlier["number"]]
    assert (exposure["applications_amount"], exposure["total"], exposure["limit"]) == (
        "60000.00",
        "90000.00",
        None,
    )
    assert _apply(officer, stranger, "30000.00").get_json()["exposure"]["others"] == []

    # the tenant's limit refuses what would pass it, naming the amount
    assert (
        api_a.put(
            "/plugins/intake", json={"enabled": True, "settings": {"max_exposure": "100000"}}
        ).status_code
        == 200
    )
    over = _apply(officer, first, "20000.00")
    assert over.status_code == 422 and list(over.get_json()["errors"]) == ["amount"]
    assert _apply(officer, first, "10000.00").status_code == 201
    # a product's own limit applies to applications of that product
    product = new_product(intake.staff["risk"].api, max_exposure="500000.00")
    assert _apply(officer, first, "20000.00", product_id=product["id"]).status_code == 201


def test_a_partner_retrying_with_the_same_idempotency_key_gets_one_application(
    intake: Firm, app: Flask
) -> None:
    from loandesk_intake.models import Application

    partner = intake.staff["officer1"].api
    customer = new_customer(partner)["id"]
    body = {"customer_id": customer, "amount": "8000.00", "term_months": 6}
    key = {"Idempotency-Key": "partner-42-0001"}
    first = partner.post("/applications", json=body, headers=key)
    assert first.status_code == 201, first.get_json()
    retried = partner.post("/applications", json=body, headers=key)
    assert retried.status_code == 200
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.get_json()["id"] == first.get_json()["id"]
    with tenant_session(app, intake.tenant.slug) as session:
        count = select(func.count()).select_from(Application)
        assert session.scalar(count.where(Application.customer_id == uuid.UUID(customer))) == 1
    # someone else's request may not take it over
    other = intake.staff["officer2"].api
    taken = other.post("/applications", json=body, headers=key)
    assert taken.status_code == 409
    submitted = partner.post(f"/applications/{first.get_json()['id']}/submit")
    assert submitted.status_code == 200 and submitted.get_json()["status"] == "submitted"
    again = partner.post(f"/applications/{first.get_json()['id']}/submit")
    assert again.status_code == 409


def test_in_review_once_an_approver_acts_then_approved_then_contracted(
    intake: Firm, app: Flask
) -> None:
    from loandesk_intake import status
    from loandesk_intake.models import Application

    from loandesk.flows import actions
    from loandesk.flows.service import latest

    publish_flow(app, intake, "risk", "finance")
    officer = intake.staff["officer1"].api
    application = _apply(officer, new_customer(officer)["id"]).get_json()["id"]
    assert officer.post(f"/applications/{application}/submit").get_json()["status"] == "submitted"

    def act(who: str) -> None:
        with tenant_session(app, intake.tenant.slug) as session:
            instance = latest(session, "application", application)
            assert instance is not None
            actor = actions.Actor(uuid.UUID(intake.staff[who].user_id))
            actions.approve(session, instance.id, actor)

    act("risk")
    assert officer.get(f"/applications/{application}").get_json()["status"] == "in_review"
    act("finance")
    assert officer.get(f"/applications/{application}").get_json()["status"] == "approved"

    with tenant_session(app, intake.tenant.slug) as session:
        row = session.scalar(select(Application).where(Application.id == uuid.UUID(application)))
        assert row is not None
        status.mark_contracted(session, row)
    assert officer.get(f"/applications/{application}").get_json()["status"] == "contracted"
    with tenant_session(app, intake.tenant.slug) as session:
        row = session.scalar(select(Application).where(Application.id == uuid.UUID(application)))
        assert row is not None
        with pytest.raises(status.Conflict):
            status.mark_contracted(session, row)


class Loans:
    """A servicing plugin standing in for the real ones: the borrower owes 70,000.00 on loans
    (answered for the customer records it is asked about, which it records)."""

    PLUGIN = PluginInfo(name="fakeloans", title_zh="测试贷款", title_en="Test loans", version="1")

    def __init__(self) -> None:
        self.asked: list[list[uuid.UUID]] = []

    @hookimpl
    def loandesk_customer_exposure(
        self, session: Any, customer_ids: list[uuid.UUID]
    ) -> Decimal | None:
        self.asked.append(list(customer_ids))
        return Decimal("70000.00")


@pytest.fixture
def loans(intake: Firm, app: Flask, api_a: ApiClient) -> Iterator[Loans]:
    plugin = Loans()
    host = app.extensions["loandesk.plugins"]
    host.register(plugin)
    try:
        assert api_a.put("/plugins/fakeloans", json={"enabled": True}).status_code == 200
        yield plugin
    finally:
        host.pm.unregister(plugin)
        host.infos.pop("fakeloans", None)
        host.contributions.pop("fakeloans", None)


def test_other_plugins_add_what_the_borrower_owes_them(
    intake: Firm, loans: Loans, api_a: ApiClient
) -> None:
    officer = intake.staff["officer1"].api
    customer = new_customer(officer)["id"]
    made = _apply(officer, customer, "20000.00")
    assert made.status_code == 201, made.get_json()
    exposure = made.get_json()["exposure"]
    assert (exposure["elsewhere"], exposure["total"]) == ("70000.00", "90000.00")
    assert loans.asked[-1] == [uuid.UUID(customer)]
    settings = {"enabled": True, "settings": {"max_exposure": "100000.00"}}
    assert api_a.put("/plugins/intake", json=settings).status_code == 200
    over = _apply(officer, customer, "15000.00")  # 20,000 open + 70,000 owed + 15,000
    assert over.status_code == 422 and list(over.get_json()["errors"]) == ["amount"]
