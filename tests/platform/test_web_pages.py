"""The web shell: sign-up page, home, user and API-client admin, language, errors, htmx."""

from __future__ import annotations

import re

from flask import Flask

from tests.helpers import csrf_from, web_login


def test_landing_and_signup_page_create_a_tenant(client) -> None:
    assert client.get("/").status_code == 200
    token = csrf_from(client, "/signup")
    bad = client.post(
        "/signup",
        data={
            "csrf_token": token,
            "name": "X",
            "slug": "Bad Slug",
            "admin_email": "a@b.cn",
            "admin_password": "weak",
        },
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert html.count("field-error") >= 2 and 'value="X"' in html  # input kept, errors by fields
    ok = client.post(
        "/signup",
        data={
            "csrf_token": token,
            "name": "兴业小贷",
            "slug": "xingye",
            "admin_email": "boss@xy.cn",
            "admin_password": "Strong-pass-88",
        },
    )
    assert ok.status_code == 302 and ok.location.endswith("/t/xingye/login")
    token = csrf_from(client, "/t/xingye/login")
    signed = client.post(
        "/t/xingye/login",
        data={"csrf_token": token, "email": "boss@xy.cn", "password": "Strong-pass-88"},
    )
    assert signed.status_code == 302
    assert "兴业小贷" in client.get("/t/xingye/").get_data(as_text=True)


def test_chinese_is_the_default_and_english_is_one_click_away(client, tenant_a) -> None:
    page = client.get(f"/t/{tenant_a.slug}/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "登录" in page
    token = csrf_from(client, f"/t/{tenant_a.slug}/login")
    switched = client.post(
        "/lang", data={"locale": "en", "csrf_token": token, "next": f"/t/{tenant_a.slug}/login"}
    )
    assert switched.status_code == 302
    english = client.get(f"/t/{tenant_a.slug}/login").get_data(as_text=True)
    assert 'lang="en"' in english and "Sign in" in english
    offsite = client.post(
        "/lang", data={"locale": "zh_CN", "csrf_token": token, "next": "https://evil.example/"}
    )
    assert offsite.location == "/"


def test_admin_manages_users_in_the_web_ui(client, tenant_a) -> None:
    web_login(client, tenant_a)
    base = f"/t/{tenant_a.slug}/admin/users"
    listing = client.get(base).get_data(as_text=True)
    assert tenant_a.admin_email in listing
    token = csrf_from(client, f"{base}/new")
    invited = client.post(
        f"{base}/new",
        data={"csrf_token": token, "email": "li@a.cn", "display_name": "李四", "locale": "zh_CN"},
    )
    assert invited.status_code == 200 and "/invite/" in invited.get_data(as_text=True)
    dup = client.post(
        f"{base}/new", data={"csrf_token": token, "email": "li@a.cn", "display_name": "李四"}
    )
    assert dup.status_code == 422
    fragment = client.get(base, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "li@a.cn" in fragment
    user_id = re.search(
        r'id="user-([0-9a-f-]{36})"[^>]*>(?:(?!</tr>).)*li@a\.cn', fragment, re.S
    ).group(1)
    row = client.post(
        f"{base}/{user_id}/status",
        data={"status": "deactivated"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert row.status_code == 200 and row.get_data(as_text=True).lstrip().startswith("<tr")
    edit = client.post(f"{base}/{user_id}", data={"csrf_token": token, "display_name": ""})
    assert edit.status_code == 422


def test_api_client_secret_is_shown_once(client, tenant_a) -> None:
    web_login(client, tenant_a)
    page = f"/t/{tenant_a.slug}/admin/api-clients"
    token = csrf_from(client, page)
    created = client.post(
        page, data={"csrf_token": token, "name": "核心系统", "scopes": ["users:read"]}
    )
    assert created.status_code == 201
    html = created.get_data(as_text=True)
    secret = re.search(r"ldc_[0-9a-f]{32}_[0-9a-f]{16}", html)
    assert secret and "secret-box" in html
    later = client.get(page).get_data(as_text=True)
    assert "核心系统" in later and "secret-box" not in later
    empty = client.post(page, data={"csrf_token": token, "name": "", "scopes": []})
    assert empty.status_code == 422


def test_staff_who_are_not_admins_cannot_open_admin_pages(client, api_a, tenant_a) -> None:
    created = api_a.post(
        "/users", json={"email": "staff@a.cn", "display_name": "S", "password": "Clerk-pass-123"}
    )
    assert created.status_code == 201
    token = csrf_from(client, f"/t/{tenant_a.slug}/login")
    client.post(
        f"/t/{tenant_a.slug}/login",
        data={"csrf_token": token, "email": "staff@a.cn", "password": "Clerk-pass-123"},
    )
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200
    assert client.get(f"/t/{tenant_a.slug}/admin/users").status_code == 403
    assert client.get(f"/t/{tenant_a.slug}/admin/api-clients").status_code == 403


def test_error_pages_never_show_a_stack_trace(app: Flask, client) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    @app.get("/api/v1/boom")
    def api_boom() -> str:
        raise RuntimeError("secret internals")

    missing = client.get("/t/no-such-firm/login")
    assert missing.status_code == 404 and "<html" in missing.get_data(as_text=True)
    for path in ("/boom", "/api/v1/boom"):
        response = client.get(path)
        body = response.get_data(as_text=True)
        assert response.status_code == 500
        assert "secret internals" not in body and "Traceback" not in body
    assert client.get("/api/v1/boom").get_json()["code"] == "internal_error"
    assert client.get("/api/v1/nothing").get_json()["code"] == "not_found"


def test_admin_creates_a_new_invitation_link(client, api_a, tenant_a) -> None:
    user = api_a.post("/users", json={"email": "lost@a.cn", "display_name": "L"}).get_json()
    web_login(client, tenant_a)
    edit = f"/t/{tenant_a.slug}/admin/users/{user['id']}"
    token = csrf_from(client, edit)
    response = client.post(f"{edit}/invitation", data={"csrf_token": token})
    assert response.status_code == 200
    link = re.search(
        r"http://loandesk\.test(/t/tenant-a/invite/[\w-]+)", response.get_data(as_text=True)
    )
    assert link and client.get(link.group(1)).status_code == 200
    assert (
        client.get(user["invitation_url"].removeprefix("http://loandesk.test")).status_code == 404
    )


def test_htmx_json_errors_are_not_swapped_into_the_page(client, tenant_a) -> None:
    web_login(client, tenant_a)
    token = csrf_from(client, f"/t/{tenant_a.slug}/admin/users")
    # deactivating yourself is refused: the answer is a JSON message for the toast
    response = client.post(
        f"/t/{tenant_a.slug}/admin/users/{tenant_a.admin_user_id}/status",
        data={"status": "deactivated"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert response.status_code == 422 and response.is_json
    assert response.get_json()["message"]
    assert "HX-Request" in response.headers.get("Vary", "")


def test_every_page_names_its_icon_and_the_icon_is_served(client) -> None:
    """Browsers ask for /favicon.ico (a 404 in every log) unless the page names its icon."""
    page = client.get("/signup").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', page)
    assert icon, "the layout names no icon"
    served = client.get(icon.group(1))
    assert served.status_code == 200
    assert served.mimetype == "image/svg+xml"
