# ruff: noqa: F811  (the fixtures imported from the SMS gateway's tests are used by name)
"""The connectors page in the browser: an admin finds the tenant's SMS gateway there, not used
yet; 测试连接 re-renders its row (htmx) as working; with the gateway's address wrong the next
test shows it failing with the error, never the secret; no script error, no failed request, no
CSP violation on the way."""

from __future__ import annotations

import pytest

from tests.helpers import TenantFixture
from tests.plugins.sms_http.conftest import SECRET, Sms, gateway, sms  # noqa: F401
from tests.plugins.sms_http.gateway_server import FakeGateway

pytestmark = pytest.mark.slow


def test_an_admin_tests_a_connector_and_sees_it_working_then_failing(
    live_server: str,
    browser_page,  # type: ignore[no-untyped-def]
    sms: Sms,
    gateway: FakeGateway,
    tenant_a: TenantFixture,
) -> None:
    from playwright.sync_api import expect

    from tests.e2e.conftest import settled, signed_in

    page = browser_page
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("response", lambda answer: failed.append(answer.url) if answer.status >= 400 else None)
    violations, errors = signed_in(
        page, live_server, tenant_a.slug, tenant_a.admin_email, tenant_a.admin_password
    )
    page.locator("a.nav-item[href$='/admin/connectors']").click()
    row = page.locator("#connector-sms_http")
    expect(row).to_have_attribute("data-state", "unused")
    expect(row).to_contain_text("未使用")

    row.get_by_role("button", name="测试连接").click()
    settled(page)
    row = page.locator("#connector-sms_http")
    expect(row).to_have_attribute("data-state", "ok")
    expect(row.get_by_role("status")).to_have_text("测试通过。")
    expect(row).to_contain_text("正常")

    sms.configure(gateway_url="http://127.0.0.1:9/sms/send")  # nothing listens there
    row.get_by_role("button", name="测试连接").click()
    settled(page)
    row = page.locator("#connector-sms_http")
    expect(row).to_have_attribute("data-state", "failing")
    expect(row.get_by_role("status")).to_have_text("测试未通过。")
    expect(row.locator(".field-error").first).not_to_be_empty()
    assert SECRET not in page.content()
    assert violations == [] and errors == [] and failed == []
