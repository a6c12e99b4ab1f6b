"""My account: staff change their own password and language."""

from __future__ import annotations

from flask import Flask

from tests.helpers import csrf_from, web_login


def test_change_own_password(app: Flask, client, tenant_a) -> None:
    web_login(client, tenant_a)
    page = f"/t/{tenant_a.slug}/account"
    token = csrf_from(client, page)
    wrong = client.post(
        page,
        data={
            "csrf_token": token,
            "action": "password",
            "current_password": "Not-mine-123",
            "new_password": "Brand-new-456",
            "new_password_confirm": "Brand-new-456",
        },
    )
    assert wrong.status_code == 422 and "field-error" in wrong.get_data(as_text=True)
    differ = client.post(
        page,
        data={
            "csrf_token": token,
            "action": "password",
            "current_password": tenant_a.admin_password,
            "new_password": "Brand-new-456",
            "new_password_confirm": "Brand-new-457",
        },
    )
    assert differ.status_code == 422
    weak = client.post(
        page,
        data={
            "csrf_token": token,
            "action": "password",
            "current_password": tenant_a.admin_password,
            "new_password": "short",
            "new_password_confirm": "short",
        },
    )
    assert weak.status_code == 422
    ok = client.post(
        page,
        data={
            "csrf_token": token,
            "action": "password",
            "current_password": tenant_a.admin_password,
            "new_password": "Brand-new-456",
            "new_password_confirm": "Brand-new-456",
        },
    )
    assert ok.status_code == 302
    other = app.test_client()
    assert web_login(other, tenant_a).status_code == 401  # the old password is gone
    assert web_login(other, tenant_a, password="Brand-new-456").status_code == 302

    from sqlalchemy import select

    from loandesk.audit.models import AuditEvent
    from loandesk.tenancy import service, use

    db = app.extensions["loandesk"].db
    with db.transaction() as s:
        ref = service.get_by_slug(s, tenant_a.slug).ref()
    with use(ref), db.transaction() as s:
        actions = list(s.scalars(select(AuditEvent.action)))
    assert "user.password_change_failed" in actions and "user.password_changed" in actions


def test_change_own_language(client, tenant_a) -> None:
    web_login(client, tenant_a)
    page = f"/t/{tenant_a.slug}/account"
    assert "修改密码" in client.get(page).get_data(as_text=True)
    token = csrf_from(client, page)
    assert (
        client.post(
            page, data={"csrf_token": token, "action": "locale", "locale": "en"}
        ).status_code
        == 302
    )
    assert "Change password" in client.get(page).get_data(as_text=True)


def test_a_password_change_signs_the_user_out_elsewhere(app: Flask, tenant_a, api_a) -> None:
    here, elsewhere = app.test_client(), app.test_client()
    web_login(here, tenant_a)
    web_login(elsewhere, tenant_a)
    home = f"/t/{tenant_a.slug}/"
    assert here.get(home).status_code == elsewhere.get(home).status_code == 200
    page = f"/t/{tenant_a.slug}/account"
    token = csrf_from(here, page)
    assert (
        here.post(
            page,
            data={
                "csrf_token": token,
                "action": "password",
                "current_password": tenant_a.admin_password,
                "new_password": "Brand-new-456",
                "new_password_confirm": "Brand-new-456",
            },
        ).status_code
        == 302
    )
    assert here.get(home).status_code == 200  # the session that changed it stays
    assert elsewhere.get(home).status_code == 302  # every other one is ended
    # an admin's reset through the API ends the user's sessions too
    web_login(elsewhere, tenant_a, password="Brand-new-456")
    assert elsewhere.get(home).status_code == 200
    assert (
        api_a.patch(
            f"/users/{tenant_a.admin_user_id}", json={"password": "Reset-pass-789"}
        ).status_code
        == 200
    )
    assert elsewhere.get(home).status_code == 302 and here.get(home).status_code == 302
