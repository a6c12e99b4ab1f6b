# ruff: noqa: F811  (the intake fixture is used by name)
"""The customer's 360° page and ID photos (issue 9, item 1, points 3 and 5): the page shows
the profile, ID photos, contacts, cards, consents, the applications intake contributes, the
loans, payments and collection places (empty until a plugin fills them; a plugin's section
fills its place or joins after them) and the customer's to-dos. ID photos are images uploaded
through the platform's attachments, shown to viewers who may see them."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loandesk.sdk import PluginInfo, ProfileRow, ProfileSection, hookimpl
from tests.helpers import ApiClient, csrf_from, tenant_session
from tests.plugins.customers.conftest import PASSWORD, Firm, Staff, new_customer
from tests.plugins.intake.conftest import intake  # noqa: F401

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.7\n" + b"1 0 obj\n" * 50


def _sign_in(app: Flask, firm: Firm, staff: Staff) -> FlaskClient:
    browser = app.test_client()
    login = f"/t/{firm.tenant.slug}/login"
    response = browser.post(
        login,
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_from(browser, login)},
    )
    assert response.status_code == 302
    return browser


def _sections(html: str) -> list[str]:
    return re.findall(r'<section class="card profile-section" data-section="([^"]+)"', html)


def _section(html: str, key: str) -> str:
    start = html.index(f'data-section="{key}"')
    return html[start : html.index("</section>", start)]


def _upload(api: ApiClient, field: str, data: bytes, name: str) -> Any:
    return api.post(
        "/attachments",
        data={"record_type": "customer", "field": field, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _todo(app: Flask, firm: Firm, staff: Staff, customer_id: str, title: str) -> None:
    from loandesk_customers.record_type import CUSTOMER

    from loandesk.todos import service

    with tenant_session(app, firm.tenant.slug) as session:
        link = service.Link(CUSTOMER, customer_id)
        service.create(session, title, assignee_user_id=uuid.UUID(staff.user_id), link=link)


def test_the_360_page_shows_every_section(app: Flask, intake: Firm) -> None:
    officer = intake.staff["officer1"]
    customer = new_customer(officer.api)["id"]
    application = officer.api.post(
        "/applications", json={"customer_id": customer, "amount": "50000.00", "term_months": 12}
    ).get_json()
    officer.api.post(
        f"/customers/{customer}/contacts",
        json={"name": "张翠山", "relation": "parent", "mobile": "13900139000"},
    )
    officer.api.post(
        f"/customers/{customer}/consents",
        json={"purpose": "marketing", "text_version": "营销 v2",
              "agreed_at": "2025-03-03T10:00:00+08:00", "channel": "app"},
    )  # fmt: skip
    _todo(app, intake, officer, customer, "Call the borrower back")

    html = (
        _sign_in(app, intake, officer)
        .get(f"/t/{intake.tenant.slug}/customers/{customer}?lang=en")
        .get_data(as_text=True)
    )

    assert "Emergency contacts" in html and "张翠山" in html
    assert "Bank cards" in html and "No bank card yet." in html
    assert "营销 v2" in html
    assert _sections(html) == ["applications", "loans", "payments", "collection"]
    applications = _section(html, "applications")
    assert application["number"] in applications and "¥50,000.00" in applications
    assert "Draft" in applications
    assert f"/applications/{application['id']}" in applications
    for key in ("loans", "payments", "collection"):
        assert "Nothing yet." in _section(html, key)
    assert "Call the borrower back" in html


def test_the_applications_section_follows_the_viewers_scope(app: Flask, intake: Firm) -> None:
    customer = new_customer(intake.staff["officer1"].api)["id"]
    intake.staff["officer1"].api.post(
        "/applications", json={"customer_id": customer, "amount": "50000.00", "term_months": 12}
    )
    risk = _sign_in(app, intake, intake.staff["risk"])  # unit scope: sees the branch's
    html = risk.get(f"/t/{intake.tenant.slug}/customers/{customer}?lang=en").get_data(as_text=True)
    assert "SQ" in _section(html, "applications")


class Servicing:
    """A later plugin: fills the loans place and adds a section of its own."""

    PLUGIN = PluginInfo(name="servicing", title_zh="贷后", title_en="Servicing", version="1")

    @hookimpl
    def loandesk_customer_360_sections(
        self, session: Any, customer_id: Any
    ) -> list[ProfileSection]:
        return [
            ProfileSection(
                "loans", "贷款", "Loans", columns=(("合同号", "Contract"),),
                rows=(ProfileRow((f"HT-{str(customer_id)[:4]}",)),),
            ),
            ProfileSection("servicing.notes", "贷后备注", "Servicing notes", order=50),
        ]  # fmt: skip


@pytest.fixture
def servicing(app: Flask, api_a: ApiClient) -> Iterator[Servicing]:
    plugin = Servicing()
    host = app.extensions["loandesk.plugins"]
    host.register(plugin)
    try:
        answer = api_a.put("/plugins/servicing", json={"enabled": True})
        assert answer.status_code == 200, answer.get_json()
        yield plugin
    finally:
        host.pm.unregister(plugin)
        host.infos.pop("servicing", None)
        host.contributions.pop("servicing", None)


def test_a_plugin_fills_its_place_and_adds_sections(
    app: Flask, firm: Firm, servicing: Servicing
) -> None:
    officer = firm.staff["officer1"]
    customer = new_customer(officer.api)["id"]
    html = (
        _sign_in(app, firm, officer)
        .get(f"/t/{firm.tenant.slug}/customers/{customer}?lang=en")
        .get_data(as_text=True)
    )
    # intake is not enabled here: its place stays, empty
    assert _sections(html) == ["applications", "loans", "payments", "collection", "servicing.notes"]
    loans = _section(html, "loans")
    assert f"HT-{customer[:4]}" in loans and "Contract" in loans and "Nothing yet." not in loans
    assert "Servicing notes" in html and "Nothing yet." in _section(html, "servicing.notes")


def test_id_photos_are_images_shown_to_those_who_may_see_them(
    app: Flask, client: FlaskClient, firm: Firm, api_a: ApiClient
) -> None:
    officer = firm.staff["officer1"]
    customer = new_customer(officer.api)["id"]
    refused = _upload(officer.api, "id_photo_front", PDF, "id.pdf")
    assert refused.status_code == 422 and "file" in refused.get_json()["errors"]
    front = _upload(officer.api, "id_photo_front", PNG, "front.png").get_json()["id"]
    back = _upload(officer.api, "id_photo_back", PNG, "back.png").get_json()["id"]
    swapped = officer.api.patch(f"/customers/{customer}", json={"id_photo_back": front})
    assert swapped.status_code == 422  # a file is valid only for the field it was uploaded for
    saved = officer.api.patch(
        f"/customers/{customer}", json={"id_photo_front": front, "id_photo_back": back}
    )
    assert saved.status_code == 200, saved.get_json()

    page = f"/t/{firm.tenant.slug}/customers/{customer}?lang=en"
    html = _sign_in(app, firm, officer).get(page).get_data(as_text=True)
    assert "ID card photos" in html
    assert f"/attachments/{front}?inline=1" in html and f"/attachments/{back}?inline=1" in html
    # the auditor (view) sees them too; finance (the photos hidden) neither sees nor downloads
    assert f"/attachments/{front}" in _sign_in(app, firm, firm.staff["auditor"]).get(page).get_data(
        as_text=True
    )
    finance = _sign_in(app, firm, firm.staff["finance"])
    finance_page = finance.get(page)
    assert finance_page.status_code == 200
    assert f"/attachments/{front}" not in finance_page.get_data(as_text=True)
    assert firm.staff["finance"].api.get(f"/attachments/{front}/content").status_code == 404
    assert firm.staff["auditor"].api.get(f"/attachments/{front}/content").status_code == 200
