"""The sign-in provider contract (``loandesk_sign_in_providers``), with a test plugin whose
provider identifies people by the code alone (a provider's HTTP is its plugin's business, see
tests/plugins/dingtalk/test_sign_in.py): the core checks the state, keeps to the tenant's active
staff whatever the plugin's mapping says, audits every sign-in and refusal, and offers only the
providers of enabled plugins."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from loandesk.sdk import PluginInfo, SignInProvider, SignInRefused, hookimpl
from tests.helpers import ApiClient, TenantFixture, audit_events, signed_in
from tests.two_factor_helpers import Clock


class Badge(SignInProvider):
    """Codes are ``code-<person>``; ``people`` maps a person to a user id (any tenant's)."""

    key = "badge"
    label_zh = "工牌"
    label_en = "Badge"

    def __init__(self, people: dict[str, uuid.UUID]) -> None:
        self.people = people
        self.identified: list[tuple[str, str]] = []

    def authorize_url(self, state: str, redirect_uri: str) -> str:
        return f"https://badge.example/auth?{urlencode({'state': state, 'to': redirect_uri})}"

    def identify(self, code: str, redirect_uri: str) -> str:
        self.identified.append((code, redirect_uri))
        if not code.startswith("code-"):
            raise SignInRefused(
                "provider_error", "The badge reader refused the code.", detail={"error": code}
            )
        return code.removeprefix("code-")

    def user_for(self, session: Session, external_id: str) -> uuid.UUID | None:
        return self.people.get(external_id)


class BadgePlugin:
    PLUGIN = PluginInfo(name="badge", title_zh="工牌登录", title_en="Badge sign-in", version="1")

    def __init__(self) -> None:
        self.provider = Badge({})
        self.offered = True
        self.broken = False

    @hookimpl
    def loandesk_sign_in_providers(self) -> list[SignInProvider]:
        if self.broken:
            raise RuntimeError("the plugin's settings cannot be read")
        return [self.provider] if self.offered else []


@pytest.fixture
def badge(app: Flask, tenant_a: TenantFixture, api_a: ApiClient) -> Iterator[BadgePlugin]:
    """The test plugin, installed on the app and enabled for tenant A; removed after."""
    from loandesk.tenancy.models import Tenant

    with app.app_context(), app.extensions["loandesk"].db.transaction() as session:
        session.get(Tenant, uuid.UUID(tenant_a.id)).locale = "en"  # type: ignore[union-attr]
    plugin = BadgePlugin()
    host = app.extensions["loandesk.plugins"]
    host.register(plugin)
    try:
        answer = api_a.put("/plugins/badge", json={"enabled": True})
        assert answer.status_code == 200, answer.get_json()
        yield plugin
    finally:
        host.pm.unregister(plugin)
        host.infos.pop("badge", None)
        host.contributions.pop("badge", None)


def _start(web: FlaskClient, slug: str, next_page: str | None = None) -> dict[str, str]:
    """Press the button; the state and redirect URI the provider is sent."""
    start = web.get(
        f"/t/{slug}/sign-in/badge", query_string={"next": next_page} if next_page else None
    )
    assert start.status_code == 302, start.get_data(as_text=True)
    assert start.location.startswith("https://badge.example/auth?")
    return {k: v[0] for k, v in parse_qs(urlsplit(start.location).query).items()}


def _back(web: FlaskClient, slug: str, sent: dict[str, str], code: str) -> Any:
    return web.get(
        f"/t/{slug}/sign-in/badge/callback", query_string={"state": sent["state"], "code": code}
    )


def test_a_provider_of_an_enabled_plugin_signs_staff_in(
    app: Flask, tenant_a: TenantFixture, api_a: ApiClient, badge: BadgePlugin
) -> None:
    badge.provider.people["p1"] = uuid.UUID(tenant_a.admin_user_id)
    web = app.test_client()
    page = web.get(f"/t/{tenant_a.slug}/login").get_data(as_text=True)
    assert f'href="/t/{tenant_a.slug}/sign-in/badge"' in page and "Sign in with Badge" in page

    sent = _start(web, tenant_a.slug, next_page=f"/t/{tenant_a.slug}/account")
    redirect_uri = f"http://loandesk.test/t/{tenant_a.slug}/sign-in/badge/callback"
    assert sent["to"] == redirect_uri and len(sent["state"]) >= 40
    assert sent["state"] != _start(app.test_client(), tenant_a.slug)["state"]  # random
    done = _back(web, tenant_a.slug, sent, "code-p1")
    assert done.status_code == 302 and done.location.endswith(f"/t/{tenant_a.slug}/account")
    assert signed_in(web, tenant_a.slug)
    assert badge.provider.identified == [("code-p1", redirect_uri)]
    assert audit_events(app, tenant_a.slug, "user.sign_in")[-1] == {
        "record_id": tenant_a.admin_user_id, "email": tenant_a.admin_email, "method": "badge",
        "subject": "p1",
    }  # fmt: skip

    # an unsafe next is not followed
    other = app.test_client()
    done = _back(
        other, tenant_a.slug, _start(other, tenant_a.slug, "https://evil.example/"), "code-p1"
    )
    assert done.location.endswith(f"/t/{tenant_a.slug}/")


def test_the_state_must_be_this_browser_s_for_this_provider_in_time(
    app: Flask, tenant_a: TenantFixture, badge: BadgePlugin
) -> None:
    badge.provider.people["p1"] = uuid.UUID(tenant_a.admin_user_id)
    clock = Clock(app)
    web = app.test_client()
    sent = _start(web, tenant_a.slug)
    assert _back(app.test_client(), tenant_a.slug, sent, "code-p1").status_code == 400
    clock.advance(601)
    assert _back(web, tenant_a.slug, sent, "code-p1").status_code == 400
    assert badge.provider.identified == []  # no code went to the provider
    assert not signed_in(web, tenant_a.slug)


def test_the_core_keeps_to_active_staff_of_the_tenant_whatever_the_mapping_says(
    app: Flask, tenant_a: TenantFixture, tenant_b: TenantFixture, api_a: ApiClient,
    badge: BadgePlugin,
) -> None:  # fmt: skip
    invited = api_a.post("/users", json={"email": "new@tenant-a.example.cn",
                                         "display_name": "新人", "roles": ["auditor"]})  # fmt: skip
    assert invited.status_code == 201, invited.get_json()
    badge.provider.people.update({
        "b-admin": uuid.UUID(tenant_b.admin_user_id),  # a plugin bug: another tenant's user
        "invited": uuid.UUID(invited.get_json()["id"]),
    })  # fmt: skip
    for person, reason, message in (
        ("b-admin", "no_account", "Your Badge account is not linked"),
        ("nobody", "no_account", "Your Badge account is not linked"),
        ("invited", "not_active", "accept your invitation first"),
    ):
        web = app.test_client()
        refused = _back(web, tenant_a.slug, _start(web, tenant_a.slug), f"code-{person}")
        assert refused.status_code == 403 and message in refused.get_data(as_text=True)
        assert not signed_in(web, tenant_a.slug)
        failed = audit_events(app, tenant_a.slug, "user.sign_in_failed")[-1]
        assert (failed["method"], failed["subject"], failed["reason"]) == (
            "badge", person, reason,
        )  # fmt: skip

    # the provider's own refusal is shown and audited as it raised it
    web = app.test_client()
    refused = _back(web, tenant_a.slug, _start(web, tenant_a.slug), "forged")
    assert refused.status_code == 403
    assert "The badge reader refused the code." in refused.get_data(as_text=True)
    failed = audit_events(app, tenant_a.slug, "user.sign_in_failed")[-1]
    assert (failed["reason"], failed["error"]) == ("provider_error", "forged")


def test_only_providers_offered_by_enabled_plugins_are_shown_and_routed(
    app: Flask, tenant_a: TenantFixture, tenant_b: TenantFixture, api_a: ApiClient,
    badge: BadgePlugin,
) -> None:  # fmt: skip
    web = app.test_client()
    # tenant B has not enabled the plugin
    assert "/sign-in/badge" not in web.get(f"/t/{tenant_b.slug}/login").get_data(as_text=True)
    assert web.get(f"/t/{tenant_b.slug}/sign-in/badge").status_code == 404
    assert web.get(f"/t/{tenant_b.slug}/sign-in/badge/callback").status_code == 404
    assert web.get(f"/t/{tenant_a.slug}/sign-in/other").status_code == 404
    badge.offered = False  # enabled, but not set up for sign-in
    assert "/sign-in/badge" not in web.get(f"/t/{tenant_a.slug}/login").get_data(as_text=True)
    assert web.get(f"/t/{tenant_a.slug}/sign-in/badge").status_code == 404
    badge.offered = True
    assert api_a.put("/plugins/badge", json={"enabled": False}).status_code == 200
    assert web.get(f"/t/{tenant_a.slug}/sign-in/badge").status_code == 404


def test_a_failing_plugin_leaves_the_password_form_usable(
    app: Flask, tenant_a: TenantFixture, badge: BadgePlugin, caplog: pytest.LogCaptureFixture
) -> None:
    badge.broken = True
    page = app.test_client().get(f"/t/{tenant_a.slug}/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="password"' in html and "/sign-in/badge" not in html
    assert "sign-in providers failed: RuntimeError" in caplog.text
