# ruff: noqa: F811  (fixtures imported from other plugins' tests are used by name)
"""Issue 10: from an approved application to a loan and its signed contract. An application
approved in its flow is booked into a loan through the API (checked: approved, same customer,
principal within the approved amount, one loan per application, also when two bookings race
on PostgreSQL); signing the loan's contract makes the application ``contracted``, once; the
application's page offers "Book the loan" to those who may, pre-filling the booking form."""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.helpers import ApiClient, csrf_from
from tests.platform.automations.conftest import run_job
from tests.platform.flows.conftest import Desk as FlowDesk
from tests.platform.reports.conftest import reports_client
from tests.plugins.channels.conftest import Channels, channels, submit_public_form  # noqa: F401
from tests.plugins.channels.test_funnel import _report as funnel_report
from tests.plugins.contracts.conftest import Office, office, sign_as_borrower  # noqa: F401
from tests.plugins.customers.conftest import id_number, new_customer
from tests.plugins.intake.conftest import new_product, publish_flow
from tests.plugins.repayment.conftest import PRODUCT_ID, desk, firm, signed_in_as  # noqa: F401


class Shop:
    """The contracts office (repayment, test products, contracts, SMS) with intake enabled,
    a one-approver flow (the risk manager) and an intake product coded like the catalogue's
    ``XF01``, so that a booking page can match them."""

    def __init__(self, office: Office, intake_product_id: str) -> None:
        self.office = office
        self.intake_product_id = intake_product_id
        self.flow = FlowDesk(office.app, office.desk.firm)

    @property
    def officer(self) -> ApiClient:
        return self.office.desk.firm.staff["officer1"].api

    @property
    def finance(self) -> ApiClient:
        return self.office.api

    def application(self, customer_id: str | None = None, amount: str = "12000.00") -> str:
        """A new application of officer1's, saved as a draft: its id."""
        body = {
            "customer_id": customer_id or self.office.customer_id,
            "product_id": self.intake_product_id,
            "amount": amount,
            "term_months": 12,
        }
        made = self.officer.post("/applications", json=body)
        assert made.status_code == 201, made.get_json()
        return str(made.get_json()["id"])

    def approved(self, customer_id: str | None = None, amount: str = "12000.00") -> str:
        """An application submitted and approved in its flow: its id."""
        application_id = self.application(customer_id, amount)
        submitted = self.officer.post(f"/applications/{application_id}/submit")
        assert submitted.status_code == 200, submitted.get_json()
        self.flow.act("approve", "risk", self.flow.instance_of(application_id))
        assert self.status(application_id) == "approved"
        return application_id

    def status(self, application_id: str) -> str:
        return str(self.officer.get(f"/applications/{application_id}").get_json()["status"])

    def book(self, application_id: str, **values: Any) -> Any:
        body = {
            "customer_id": self.office.customer_id,
            "product_id": str(PRODUCT_ID),
            "principal": "12000.00",
            "periods": 12,
            "application_id": application_id,
            **values,
        }
        return self.finance.post("/loans", json=body)


@pytest.fixture
def shop(office: Office, api_a: ApiClient) -> Shop:
    assert api_a.put("/plugins/intake", json={"enabled": True}).status_code == 200
    firm = office.desk.firm
    publish_flow(office.app, firm, "risk")
    product = new_product(firm.staff["risk"].api, code="XF01", required_documents=[])
    return Shop(office, product["id"])


def _contracted_events(shop: Shop, application_id: str) -> int:
    from loandesk.events import OutboxEvent

    with shop.office.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(
                    OutboxEvent.name == "application.contracted",
                    OutboxEvent.record_id == application_id,
                )
            )
            or 0
        )


def test_an_approved_application_is_booked_and_its_signed_contract_contracts_it(
    shop: Shop,
) -> None:
    office = shop.office
    application_id = shop.approved()
    booked = shop.book(application_id, principal="10000.00")
    assert booked.status_code == 201, booked.get_json()
    loan = booked.get_json()
    assert loan["application_id"] == application_id and loan["status"] == "pending"
    assert shop.status(application_id) == "approved"  # booked is not signed

    contract = office.contract(loan["id"])
    sent = office.api.post(f"/contracts/{contract['id']}/send")
    assert sent.status_code == 200, sent.get_json()
    run_job(office.desk, "core.deliver_events")  # contract.sent: nothing for intake
    assert shop.status(application_id) == "approved"
    sign_as_borrower(office, office.link())
    run_job(office.desk, "core.deliver_events")
    assert shop.status(application_id) == "contracted"
    assert _contracted_events(shop, application_id) == 1

    # delivered again (at least once): the handler does nothing the second time
    from loandesk_intake.lending import on_contract_signed

    from loandesk.events import OutboxEvent
    from loandesk.jobs import JobContext

    with office.session() as session:
        signed = session.scalar(select(OutboxEvent).where(OutboxEvent.name == "contract.signed"))
        assert signed is not None and signed.payload["loan_id"] == loan["id"]
        ctx = JobContext(
            job_id="again", attempt=1, tenant=None, session=session, progress=lambda d, t: None
        )
        on_contract_signed(ctx, signed.view())
    assert shop.status(application_id) == "contracted"
    assert _contracted_events(shop, application_id) == 1


def test_a_signed_contract_leaves_an_application_that_is_no_longer_approved(shop: Shop) -> None:
    """Logged and skipped, not a failed delivery retried for ever."""
    office = shop.office
    application_id = shop.approved()
    loan = shop.book(application_id).get_json()
    with office.session() as session:  # staff changed their mind behind the loan's back
        from loandesk_intake.models import Application

        found = session.get(Application, (uuid.UUID(office.desk.firm.tenant.id),
                                          uuid.UUID(application_id)))  # fmt: skip
        assert found is not None
        found.status = "withdrawn"
    contract = office.contract(loan["id"])
    assert office.api.post(f"/contracts/{contract['id']}/send").status_code == 200
    sign_as_borrower(office, office.link())
    run_job(office.desk, "core.deliver_events")
    assert shop.status(application_id) == "withdrawn"
    from loandesk.events import OutboxEvent

    with office.session() as session:
        waiting = select(func.count()).select_from(OutboxEvent)
        assert session.scalar(waiting.where(OutboxEvent.delivered_at.is_(None))) == 0


def _errors(answer: Any) -> dict[str, Any]:
    return dict(answer.get_json().get("errors") or {})


def test_booking_refuses_an_application_that_does_not_fit(shop: Shop) -> None:
    office = shop.office
    draft = shop.application()
    not_approved = shop.book(draft)
    assert not_approved.status_code == 409, not_approved.get_json()
    assert "approved" in not_approved.get_json()["message"]

    unknown = shop.book(str(uuid.uuid4()))
    assert unknown.status_code == 422 and list(_errors(unknown)) == ["application_id"]

    other_customer = new_customer(office.desk.firm.staff["officer1"].api)
    theirs = shop.approved(customer_id=str(other_customer["id"]))
    wrong = shop.book(theirs)
    assert wrong.status_code == 422 and list(_errors(wrong)) == ["application_id"]

    application_id = shop.approved(amount="8000.00")
    over = shop.book(application_id, principal="8000.01")
    assert over.status_code == 422 and list(_errors(over)) == ["principal"]
    assert "8000.00" in str(_errors(over)["principal"])

    assert shop.book(application_id, principal="8000.00").status_code == 201
    second = shop.book(application_id, principal="5000.00")
    assert second.status_code == 409, second.get_json()
    assert "already" in second.get_json()["message"]
    with office.session() as session:
        from loandesk_repayment.models import Loan

        linked = select(func.count()).select_from(Loan)
        assert session.scalar(linked.where(Loan.application_id == uuid.UUID(application_id))) == 1


@pytest.mark.postgresql
def test_two_bookings_of_one_application_at_once_give_one_loan_and_a_409(shop: Shop) -> None:
    """Both pass the check before either commits; the unique index decides, and the loser
    gets the same 409 as a booking that came later."""
    from loandesk_repayment import loans
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from loandesk import sdk
    from loandesk.tenancy import service, use

    office = shop.office
    app: Flask = office.app
    application_id = uuid.UUID(shop.approved())
    clerk = uuid.UUID(office.desk.firm.staff["finance"].user_id)
    db = app.extensions["loandesk"].db
    with app.app_context():
        with db.transaction() as s:
            tenant = service.get_by_slug(s, office.slug).ref()

    def book(session: Any) -> Any:
        return loans.book(
            session,
            customer_id=office.customer_id,
            product_id=PRODUCT_ID,
            principal="12000.00",
            periods=12,
            application_id=application_id,
            booked_by=clerk,
        )

    outcome: dict[str, BaseException] = {}

    def second() -> None:
        with app.app_context(), use(tenant):
            session = db.session_factory()
            try:
                book(session)
                session.commit()
            except BaseException as problem:
                outcome["error"] = problem
                session.rollback()
            finally:
                session.close()

    with app.app_context(), use(tenant):
        first = db.session_factory()
        try:
            book(first)  # flushed: holds the index entry until it commits
            racer = threading.Thread(target=second)
            racer.start()
            watcher = db.session_factory()
            waiting = text(
                "select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                "and datname = current_database()"
            )
            for _ in range(200):
                if watcher.scalar(waiting):
                    break
                threading.Event().wait(0.05)
            watcher.close()
            first.commit()
        finally:
            first.close()
        racer.join(timeout=30)
    error = outcome.get("error")
    assert isinstance(error, sdk.Conflict), error
    assert isinstance(error.__context__, IntegrityError)  # the index, not the first check
    with office.session() as session:
        from loandesk_repayment.models import Loan

        linked = select(func.count()).select_from(Loan)
        assert session.scalar(linked.where(Loan.application_id == application_id)) == 1


def _value(html: str, name: str) -> str | None:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    return found.group(1) if found else None


def test_the_application_page_offers_booking_to_who_may_and_pre_fills_the_form(
    shop: Shop,
) -> None:
    office = shop.office
    application_id = shop.approved()
    page = f"/t/{office.slug}/applications/{application_id}?lang=en"
    officer = signed_in_as(shop.office.desk, "officer1").get(page).get_data(as_text=True)
    assert "Book the loan" not in officer  # a credit officer does not book loans
    finance = signed_in_as(shop.office.desk, "finance")
    html = finance.get(page).get_data(as_text=True)
    link = re.search(r'<a href="([^"]*/loans/new\?application_id=[^"]*)">Book the loan', html)
    assert link, html

    form_path = link.group(1).replace("&amp;", "&")
    form = finance.get(f"{form_path}&lang=en")
    assert form.status_code == 200
    shown = form.get_data(as_text=True)
    assert _value(shown, "application_id") == application_id
    assert _value(shown, "customer_id") == office.customer_id
    assert _value(shown, "principal") == "12000.00"
    assert _value(shown, "periods") == "12"  # a monthly product: the term's months
    assert re.search(rf'<option value="{PRODUCT_ID}" selected>XF01', shown)

    token = csrf_from(finance, f"{form_path}&lang=en")
    values = {
        "csrf_token": token,
        "application_id": application_id,
        "customer_id": office.customer_id,
        "product_id": str(PRODUCT_ID),
        "principal": "12000.01",
        "periods": "12",
        "maturity_date": "",
    }
    refused = finance.post(f"/t/{office.slug}/loans/new?lang=en", data=values)
    assert refused.status_code == 422
    again = refused.get_data(as_text=True)
    assert _value(again, "application_id") == application_id  # kept through the error
    assert "approved amount of 12000.00" in again

    booked = finance.post(
        f"/t/{office.slug}/loans/new?lang=en", data={**values, "principal": "12000.00"}
    )
    assert booked.status_code == 302
    loan_path = booked.headers["Location"]
    after = finance.get(page).get_data(as_text=True)
    assert "Book the loan" not in after
    number = re.search(r"DK\d{13}", after)
    assert number and f'href="{loan_path}"' in after.replace(f"http://localhost{loan_path}", "")
    # the officer, who may view loans, sees it too; the form now leads to the loan
    assert number.group(0) in signed_in_as(shop.office.desk, "officer1").get(page).get_data(
        as_text=True
    )
    reopened = finance.get(f"{form_path}&lang=en")
    assert reopened.status_code == 302 and reopened.headers["Location"].endswith(loan_path)


def test_the_channel_funnel_counts_a_contracted_application_as_disbursed(
    channels: Channels, office: Office, app: Flask
) -> None:
    """A lead's application, approved, booked and signed, reaches the funnel's last stage
    (``DISBURSED``: contracted) — the stage nothing reached before issue 10."""
    firm = channels.firm
    publish_flow(app, firm, "risk")
    sent = submit_public_form(app, channels.links["agent1"], name="李四", mobile="13912345678")
    assert sent.status_code == 200
    agent = firm.staff["agent1"].api
    (lead,) = agent.get("/channels/leads").get_json()["items"]
    converted = agent.post(
        f"/channels/leads/{lead['id']}/convert",
        json={"id_number": id_number(99), "term_months": 12, "amount": "12000.00"},
    )
    assert converted.status_code == 201, converted.get_json()
    application_id = converted.get_json()["application_id"]
    assert agent.post(f"/applications/{application_id}/submit").status_code == 200
    flow = FlowDesk(app, firm)
    flow.act("approve", "risk", flow.instance_of(application_id))
    customer_id = agent.get(f"/applications/{application_id}").get_json()["customer_id"]
    reader = reports_client(
        app, app.test_client(), firm.tenant.slug, firm.tenant.id, firm.staff["risk"].user_id
    )
    agent1 = firm.staff["agent1"].user_id
    assert funnel_report(reader)[("渠道AGENTS", agent1)]["disbursed"] == 0

    booked = office.api.post(
        "/loans",
        json={"customer_id": customer_id, "product_id": str(PRODUCT_ID),
              "principal": "12000.00", "periods": 12, "application_id": application_id},
    )  # fmt: skip
    assert booked.status_code == 201, booked.get_json()
    contract = office.contract(booked.get_json()["id"])
    assert office.api.post(f"/contracts/{contract['id']}/send").status_code == 200
    sign_as_borrower(office, office.link())
    run_job(office.desk, "core.deliver_events")
    counts = funnel_report(reader)[("渠道AGENTS", agent1)]
    assert (counts["approved"], counts["disbursed"]) == (1, 1)


def test_the_booking_page_books_without_an_application_and_is_for_who_may_book(
    shop: Shop,
) -> None:
    office = shop.office
    path = f"/t/{office.slug}/loans/new?lang=en"
    assert signed_in_as(shop.office.desk, "officer1").get(path).status_code == 403
    finance = signed_in_as(shop.office.desk, "finance")
    listed = finance.get(f"/t/{office.slug}/loans/?lang=en").get_data(as_text=True)
    assert "/loans/new" in listed and "Book a loan" in listed
    form = finance.get(path).get_data(as_text=True)
    assert _value(form, "application_id") == "" and 'name="customer_id"' in form
    booked = finance.post(
        path,
        data={
            "csrf_token": csrf_from(finance, path),
            "customer_id": office.customer_id,
            "product_id": str(PRODUCT_ID),
            "principal": "5000.00",
            "periods": "6",
            "application_id": "",
        },
    )
    assert booked.status_code == 302, booked.get_data(as_text=True)
    loans = office.api.get(f"/loans?customer_id={office.customer_id}").get_json()["items"]
    assert [(x["principal"], x["periods"], x["application_id"]) for x in loans] == [
        ("5000.00", 6, None)
    ]
