"""Administration → Security settings and ``/api/v1/security-settings``: require two-factor
sign-in, the session timeouts; validation (422 with field errors, nothing changed), audit,
permissions and scopes."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from loandesk.audit.models import AuditEvent
from loandesk.tenancy import service, use
from tests.helpers import ApiClient, csrf_from, fetch_token, web_login
from tests.two_factor_helpers import Clock, enrol, password_step

DEFAULTS = {"require_two_factor": False, "session_idle_minutes": 30, "session_absolute_hours": 12}


def _ref(app: Flask, slug: str):  # type: ignore[no-untyped-def]
    with app.extensions["loandesk"].db.transaction() as session:
        return service.get_by_slug(session, slug).ref()


def _audited(app: Flask, slug: str) -> list[tuple[str, dict]]:
    with use(_ref(app, slug)), app.extensions["loandesk"].db.transaction() as session:
        return [
            (e.action, e.diff)
            for e in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.like("tenant.%"), AuditEvent.action != "tenant.create")
                .order_by(AuditEvent.seq)
            )
        ]


# --- API -----------------------------------------------------------------------------------


def test_the_api_reads_and_changes_the_settings(app: Flask, api_a: ApiClient, api_b) -> None:
    assert api_a.get("/security-settings").get_json() == DEFAULTS
    changed = api_a.patch(
        "/security-settings", json={"require_two_factor": True, "session_idle_minutes": 10}
    )
    assert changed.status_code == 200
    assert changed.get_json() == {
        **DEFAULTS,
        "require_two_factor": True,
        "session_idle_minutes": 10,
    }
    ref = _ref(app, "tenant-a")
    assert (ref.require_two_factor, ref.session_idle_minutes, ref.session_absolute_hours) == (
        True,
        10,
        12,
    )
    assert _audited(app, "tenant-a") == [
        ("tenant.session_limits", {"session_idle_minutes": [30, 10]}),
        ("tenant.require_two_factor", {"require_two_factor": [False, True]}),
    ]
    # the same values again change and audit nothing
    assert api_a.patch("/security-settings", json={"session_idle_minutes": 10}).status_code == 200
    assert len(_audited(app, "tenant-a")) == 2
    assert api_b.get("/security-settings").get_json() == DEFAULTS  # tenant B untouched


def test_invalid_settings_are_refused_with_field_errors_and_change_nothing(
    app: Flask, api_a: ApiClient
) -> None:
    for body, field, message in (
        ({"session_idle_minutes": 2}, "session_idle_minutes", "Use 5 to 1440 minutes."),
        ({"session_absolute_hours": 0}, "session_absolute_hours", "Use 1 to 720 hours."),
        (
            {"session_idle_minutes": 180, "session_absolute_hours": 2},
            "session_idle_minutes",
            "The idle timeout cannot be longer than the absolute one.",
        ),
        ({"session_idle_minutes": 1.5}, "session_idle_minutes", "Not a valid integer."),
        ({"session_idle_minutes": "ten"}, "session_idle_minutes", "Not a valid integer."),
        ({"require_two_factor": "maybe"}, "require_two_factor", "Not a valid boolean."),
        ({"require_two_factor": None}, "require_two_factor", "Field may not be null."),
        ({"idle": 5}, "idle", "Unknown field."),
    ):
        response = api_a.patch("/security-settings", json={"require_two_factor": True, **body})
        assert response.status_code == 422, body
        data = response.get_json()
        assert data["code"] == "validation_error" and data["errors"][field] == [message], data
    assert api_a.get("/security-settings").get_json() == DEFAULTS
    assert _audited(app, "tenant-a") == []


def test_the_api_needs_the_security_scopes(client, tenant_a) -> None:
    token = fetch_token(client, tenant_a.client_id, tenant_a.client_secret, "security:read")
    reader = ApiClient(client, token.get_json()["access_token"])
    assert reader.get("/security-settings").status_code == 200
    refused = reader.patch("/security-settings", json={"require_two_factor": True})
    assert refused.status_code == 403 and refused.get_json()["code"] == "insufficient_scope"
    token = fetch_token(client, tenant_a.client_id, tenant_a.client_secret, "users:read")
    other = ApiClient(client, token.get_json()["access_token"])
    assert other.get("/security-settings").status_code == 403


# --- web -----------------------------------------------------------------------------------


def test_the_admin_page_validates_next_to_the_fields(app: Flask, client, tenant_a) -> None:
    web_login(client, tenant_a)
    home = client.get(f"/t/{tenant_a.slug}/?lang=en").get_data(as_text=True)
    assert f'href="/t/{tenant_a.slug}/admin/security"' in home and "Security settings" in home
    page = f"/t/{tenant_a.slug}/admin/security?lang=en"
    shown = client.get(page).get_data(as_text=True)
    assert 'name="session_idle_minutes"' in shown and 'value="30"' in shown
    token = csrf_from(client, page)
    for form, field, message in (
        ({"session_idle_minutes": "abc"}, "session_idle_minutes", "Enter a whole number."),
        ({"session_idle_minutes": "2"}, "session_idle_minutes", "Use 5 to 1440 minutes."),
        ({"session_absolute_hours": "-1"}, "session_absolute_hours", "Enter a whole number."),
        ({"session_absolute_hours": "800"}, "session_absolute_hours", "Use 1 to 720 hours."),
    ):
        data = {"session_idle_minutes": "30", "session_absolute_hours": "12", **form}
        refused = client.post(page, data={**data, "csrf_token": token})
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422, form
        assert f'id="f-{field}-error"' in html and message in html, form
        assert f'value="{form[field]}"' in html  # what was typed stays
    # requiring two-factor sign-in needs it on one's own account first
    data = {"session_idle_minutes": "20", "session_absolute_hours": "8", "require_two_factor": "on"}
    refused = client.post(page, data={**data, "csrf_token": token})
    assert refused.status_code == 422
    assert "Set up two-factor sign-in for your own account first." in refused.text
    assert _audited(app, tenant_a.slug) == []
    enrol(client, tenant_a, Clock(app))
    saved = client.post(page, data={**data, "csrf_token": token})
    assert saved.status_code == 302
    assert "Saved." in client.get(saved.location + "?lang=en").text
    ref = _ref(app, tenant_a.slug)
    assert (ref.require_two_factor, ref.session_idle_minutes, ref.session_absolute_hours) == (
        True,
        20,
        8,
    )
    assert [action for action, _ in _audited(app, tenant_a.slug)] == [
        "tenant.session_limits",
        "tenant.require_two_factor",
    ]
    # turning it off again needs nothing
    off = {"session_idle_minutes": "20", "session_absolute_hours": "8"}
    assert client.post(page, data={**off, "csrf_token": token}).status_code == 302
    assert _ref(app, tenant_a.slug).require_two_factor is False


def test_the_page_needs_the_security_permission(app: Flask, client, tenant_a, api_a) -> None:
    created = api_a.post(
        "/users",
        json={
            "email": "audit@a.cn",
            "display_name": "审计",
            "password": "Checker-pass-1",
            "roles": ["auditor"],
        },
    )
    assert created.status_code == 201, created.get_json()
    password_step(client, tenant_a, "audit@a.cn", "Checker-pass-1")
    assert client.get(f"/t/{tenant_a.slug}/admin/security").status_code == 403
    home = client.get(f"/t/{tenant_a.slug}/?lang=en").get_data(as_text=True)
    assert "/admin/security" not in home
    role = api_a.post(
        "/roles",
        json={
            "key": "security_officer",
            "name_zh": "安全管理员",
            "name_en": "Security officer",
            "permissions": ["security.manage"],
        },
    ).get_json()
    user = api_a.get("/users").get_json()["items"][-1]
    assert (
        api_a.patch(f"/users/{user['id']}", json={"roles": ["auditor", role["key"]]}).status_code
        == 200
    )
    assert client.get(f"/t/{tenant_a.slug}/admin/security").status_code == 200
