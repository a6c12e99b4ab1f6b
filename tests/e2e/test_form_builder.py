"""The form builder in a real browser: an admin adds a section and two fields (the kind's
inputs appear through htmx), drags a field into the new section (SortableJS), moves it back
and forth with the keyboard buttons, publishes, and the API shows the order, the section and
version 1. No Content-Security-Policy violation on the way."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_csp import _watch
from tests.helpers import ApiClient

pytestmark = pytest.mark.slow


def _drag(page, handle, target) -> None:  # type: ignore[no-untyped-def]
    """Press on ``handle``, move in small steps (as a hand does) onto ``target``, release.
    (``hover`` first: it scrolls the handle out from under the sticky top bar.)"""
    handle.hover()
    page.mouse.down()
    end = target.bounding_box()
    page.mouse.move(end["x"] + 20, end["y"] + end["height"] / 2, steps=20)
    page.mouse.move(end["x"] + 24, end["y"] + end["height"] / 2, steps=2)
    page.mouse.up()


def test_admin_builds_arranges_and_publishes_a_form(
    app, live_server: str, browser_page, tenant_a, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    api = ApiClient(app.test_client(), tenant_a.token)
    assert api.put("/plugins/customers", json={"enabled": True}).status_code == 200
    page = browser_page
    violations = _watch(page)
    page.goto(f"{live_server}/t/{tenant_a.slug}/login")
    page.fill("input[name=email]", tenant_a.admin_email)
    page.fill("input[name=password]", tenant_a.admin_password)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(re.compile(rf"/t/{tenant_a.slug}/$"))

    page.click("nav >> text=字段与表单")
    page.click('tr[data-record-type="customer"] a.btn')
    page.wait_for_url(re.compile(r"/admin/forms/customer$"))

    # a section
    page.fill("#f-section-key", "vehicle")
    page.fill("#f-section-label_zh", "车辆信息")
    page.fill("#f-section-label_en", "Vehicle")
    page.click("#new-section-title >> xpath=../.. >> button[type=submit]")
    expect(page.locator('section[data-section-key="vehicle"]')).to_be_visible()

    # a select field: choosing the kind brings the options editor (htmx)
    page.click('section#section-basic >> a[href*="fields/new"]')
    page.fill("#f-key", "loan_purpose")
    page.select_option("#f-kind", "select")
    expect(page.locator('input[name="options-0-value"]')).to_be_visible()
    expect(page.locator('input[name="rules.max_length"]')).to_have_count(0)
    page.fill("#f-label_zh", "借款用途")
    page.fill("#f-label_en", "Loan purpose")
    page.fill('input[name="options-0-value"]', "car")
    page.fill('input[name="options-0-label_zh"]', "购车")
    page.fill('input[name="options-0-label_en"]', "Car")
    page.screenshot(path=tmp_path / "form-builder-field.png", full_page=True)
    page.click("#field-form button.btn-primary")
    expect(
        page.locator('ul[data-section-key=""] li[data-field-key="loan_purpose"]')
    ).to_be_visible()

    # a text field shown only for car loans, also in the basic section for now
    page.click('section#section-basic >> a[href*="fields/new"]')
    page.fill("#f-key", "car_plate")
    page.fill("#f-label_zh", "车牌号")
    page.fill("#f-label_en", "Car plate")
    page.fill("#f-condition", 'loan_purpose == "car"')
    page.click("#field-form button.btn-primary")
    plate = page.locator('li[data-field-key="car_plate"]')
    expect(page.locator('ul[data-section-key=""] li[data-field-key="car_plate"]')).to_be_visible()

    # drag car_plate into the vehicle section; the layout is saved at once
    with page.expect_response(re.compile(r"/arrange$")) as saved:
        _drag(page, plate.locator(".drag-handle"), page.locator('ul[data-section-key="vehicle"]'))
    assert saved.value.status == 200
    expect(
        page.locator('ul[data-section-key="vehicle"] li[data-field-key="car_plate"]')
    ).to_be_visible()
    assert [s["fields"] for s in api.get("/record-types/customer/sections").get_json()] == [
        ["car_plate"]
    ]

    # the keyboard way: up takes it back to the basic section, down returns it; focus stays
    page.focus("#move-up-car_plate")
    page.keyboard.press("Enter")
    expect(page.locator('ul[data-section-key=""] li[data-field-key="car_plate"]')).to_be_visible()
    expect(page.locator("#move-up-car_plate")).to_be_focused()
    page.click("#move-down-car_plate")
    expect(
        page.locator('ul[data-section-key="vehicle"] li[data-field-key="car_plate"]')
    ).to_be_visible()

    # the preview shows the plate only for car loans
    page.click('.page-header a[href$="/preview"]')
    expect(page.locator("#f-car_plate")).to_have_count(0)
    page.select_option("#f-loan_purpose", "car")
    expect(page.locator("#f-car_plate")).to_be_visible()
    page.go_back()

    page.fill("#f-publish-note", "首版")
    page.click("#publish-button")
    expect(page.locator('tr[data-version="1"]')).to_be_visible()

    fields = {
        f["key"]: f
        for f in api.get("/record-types/customer/fields").get_json()["items"]
        if f["custom"]
    }
    assert fields["car_plate"]["section"] == "vehicle" and fields["loan_purpose"]["section"] == ""
    versions = api.get("/record-types/customer/form/versions").get_json()["items"]
    assert [(v["number"], v["note"], v["fields"]) for v in versions] == [
        (1, "首版", ["loan_purpose", "car_plate"])
    ]
    form = api.get("/record-types/customer/form").get_json()
    assert form["version"] == 1
    assert [s["fields"] for s in form["sections"] if s["key"] == "vehicle"] == [["car_plate"]]
    page.screenshot(path=tmp_path / "form-builder.png", full_page=True)
    assert violations == []
