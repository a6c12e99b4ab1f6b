"""What the schemathesis run (``test_schemathesis.py``) found, each pinned by a plain test."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import World
from tests.helpers import csrf_from, web_login

pytestmark = pytest.mark.slow


def test_a_page_past_the_last_is_a_422_not_a_500(world: World) -> None:
    api = world.api()
    for path in ("/sms-templates", "/webhooks", "/automations", "/loans/cob-runs"):
        answer = api.get(f"{path}?page=1194618814887975656465627657273344")
        assert answer.status_code == 422, (path, answer.get_json())
        assert answer.get_json()["code"] == "validation_error"
        assert "page" in answer.get_json()["errors"]
    assert api.get("/sms-templates?page=100000").status_code == 200


def test_the_dossier_workbook_drops_control_characters_from_a_reason(world: World) -> None:
    from openpyxl import load_workbook

    api, loan_id = world.api(), world.ids["loan_id"]
    answer = api.put(
        f"/assets/loans/{loan_id}/class/override",
        json={"loan_class": "loss", "reason": "法院\x11受理"},
    )
    assert answer.status_code == 200, answer.get_json()
    book = api.get(f"/assets/loans/{loan_id}/dossier?format=xlsx")
    assert book.status_code == 200, book.get_json()
    cells = [
        str(value)
        for sheet in load_workbook(io.BytesIO(book.data)).worksheets
        for row in sheet.values
        for value in row
        if value is not None
    ]
    assert "法院受理" in cells


def test_an_email_test_with_incomplete_settings_is_a_409(world: World) -> None:
    answer = world.api().post("/email/test", json={"to": "ops@fuzz.example.cn"})
    assert answer.status_code == 409
    assert answer.get_json()["code"] == "conflict"
    assert "host" in answer.get_json()["message"]


def test_the_error_schema_is_the_error_body(world: World) -> None:
    client = world.app.test_client()
    error = client.get("/api/openapi.json").get_json()["components"]["schemas"]["Error"]
    assert error["properties"]["code"]["type"] == "string"
    assert set(error["required"]) == {"code", "message", "errors"}
    body = world.api().get("/customers/not-a-uuid").get_json() or {}
    assert set(body) <= {"code", "message", "errors"}


def test_a_nul_character_is_a_400_naming_the_field(world: World) -> None:
    api = world.api()
    answer = api.post("/loans/funders", json={"code": "F\x000", "name": "资金方", "kind": "own"})
    assert answer.status_code == 400, answer.get_json()
    assert list(answer.get_json()["errors"]) == ["code"]
    assert api.get("/views?record_type=cust%00omer").get_json()["errors"] == {
        "record_type": ["Text may not contain the NUL character."]
    }
    assert (
        api.post("/loans/funders", json={"code": "F2", "name": "资金方", "kind": "own"}).status_code
        == 201
    )


# --- the same findings on the web pages ----------------------------------------------------

HUGE_PAGE = "1194618814887975656465627657273344"


def _signed_in_web(world: World) -> FlaskClient:
    assert world.tenant is not None
    web = world.app.test_client()
    assert web_login(web, world.tenant).status_code == 302
    return web


def _pages(world: World) -> list[str]:
    """Every page of the firm's web UI that takes no id: GET rules whose only argument is the
    tenant's slug (signing out left out: it would end the session)."""
    assert world.tenant is not None
    return sorted(
        rule.rule.replace("<tenant_slug>", world.tenant.slug)
        for rule in world.app.url_map.iter_rules()
        if rule.rule.startswith("/t/<tenant_slug>/")
        and "GET" in (rule.methods or ())
        and set(rule.arguments) == {"tenant_slug"}
        and "logout" not in rule.endpoint
    )


def test_no_web_page_answers_500_to_a_page_number_past_any_bound(world: World) -> None:
    """Every paginated list page once took ``?page=`` unbounded to the database's OFFSET,
    which it cannot hold (500 on both databases); each now keeps it within the API's bound."""
    web = _signed_in_web(world)
    answered = {}
    for path in _pages(world):
        answer = web.get(f"{path}?page={HUGE_PAGE}")
        answered[path] = answer.status_code
        assert answer.status_code < 500, (path, answer.status_code)
    assert len(answered) > 80
    lists = [p for p, status in answered.items() if status == 200]
    assert len(lists) > 50, sorted(answered.items())
    for path in ("customers/", "loans/", "admin/audit"):
        assert f"/t/fuzz/{path}" in lists, path


def test_a_nul_character_in_a_web_form_is_a_400_and_saves_nothing(world: World) -> None:
    web = _signed_in_web(world)
    page = f"/t/{world.tenant.slug}/customers?q=%00"  # type: ignore[union-attr]
    answer = web.get(page)
    assert answer.status_code == 400
    assert "NUL" in answer.text or "空字符" in answer.text
    before = len(world.api().get("/loans/funders").get_json())
    token = csrf_from(web, f"/t/{world.tenant.slug}/")  # type: ignore[union-attr]
    answer = web.post(
        f"/t/{world.tenant.slug}/loans/funders",  # type: ignore[union-attr]
        data={"csrf_token": token, "code": "W\x001", "name": "资金方", "kind": "own"},
    )
    assert answer.status_code == 400, answer.text
    assert len(world.api().get("/loans/funders").get_json()) == before
