"""Contract templates: written by a tenant admin, rendered in Jinja's sandbox (no code
execution, no fetching from the network), checked on the sample loan when saved, used for
the product's next contract; the letterhead on every page."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from tests.plugins.contracts.conftest import Office, pdf_text

PRODUCT = "0190a000-0000-7000-8000-000000000001"


@pytest.fixture
def listener() -> Iterator[list[str]]:
    """A local HTTP server that notes every path asked of it."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        asked.append(f"http://127.0.0.1:{server.server_port}")
        yield asked
    finally:
        server.shutdown()


def test_a_broken_or_unsafe_template_is_refused_naming_the_field(office: Office) -> None:
    admin = office.desk.firm.staff["risk"].api
    for body in (
        "{% for x in %}",  # syntax
        "{{ ''.__class__.__mro__ }}",  # the sandbox refuses underscores
        "{{ loan.principal|no_such_filter }}",
    ):
        answer = admin.put("/contract-templates/default", json={"name": "默认", "body": body})
        assert answer.status_code == 422, body
        assert "body" in answer.get_json()["errors"]
    assert admin.get("/contract-templates").get_json() == []


def test_nothing_is_fetched_from_the_network_while_rendering(
    office: Office, listener: list[str]
) -> None:
    from loandesk_contracts import pdf

    base = listener[0]
    html = f'<img src="{base}/img.png"><p>借款</p>'
    data = pdf.to_pdf(html, f'@import url("{base}/x.css"); body {{ background: url({base}/b); }}')
    assert data[:5] == b"%PDF-"
    assert listener[1:] == []


def test_a_product_template_and_the_letterhead_make_the_next_contract(office: Office) -> None:
    admin = office.desk.firm.staff["risk"].api
    body = (
        "<h1>{{ firm.name }}</h1><p>{{ firm.address }}</p><p>专用模板 {{ borrower.name }} "
        "{{ loan.principal|capitals }} {{ loan.annual_rate_irr|percent }}</p>"
    )
    preview = admin.post("/contract-templates/preview", json={"body": body})
    assert preview.status_code == 200 and "王玥堃" in preview.get_json()["html"]
    saved = admin.put(
        f"/contract-templates/{PRODUCT}", json={"name": "工薪贷合同", "body": body, "css": ""}
    )
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["product_id"] == PRODUCT

    browser = office.staff_browser("risk")
    page = f"/t/{office.slug}/contracts/templates"
    from tests.helpers import csrf_from

    answer = browser.post(
        f"/t/{office.slug}/contracts/letterhead",
        data={
            "csrf_token": csrf_from(browser, page),
            "firm_name": "华东小额贷款有限公司",
            "address": "上海市浦东新区世纪大道100号",
            "phone": "021-12345678",
        },
    )
    assert answer.status_code == 302

    contract = office.contract(office.pending_loan()["id"])
    text = pdf_text(office.api.get(f"/contracts/{contract['id']}/pdf").data)
    assert "专用模板" in text and "华东小额贷款有限公司" in text and "世纪大道100号" in text
    assert "壹万贰仟元整" in text
    events = admin.get("/contract-templates").get_json()
    assert [t["name"] for t in events] == ["工薪贷合同"]


def test_staff_without_the_permission_cannot_touch_templates(office: Office) -> None:
    officer = office.desk.firm.staff["collector"].api
    answer = officer.put("/contract-templates/default", json={"name": "x", "body": "x"})
    assert answer.status_code == 403
    assert officer.get("/contracts").status_code == 403
