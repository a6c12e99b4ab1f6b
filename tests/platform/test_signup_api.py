"""``POST /api/v1/signup``: the one public endpoint."""

from __future__ import annotations

import pytest

GOOD = {
    "name": "华信小贷",
    "slug": "huaxin",
    "admin_email": "Boss@HuaXin.cn",
    "admin_password": "Strong-pass-2026",
}


def test_signup_creates_tenant_and_admin(client) -> None:
    response = client.post("/api/v1/signup", json=GOOD)
    assert response.status_code == 201
    body = response.get_json()
    assert body["slug"] == "huaxin" and body["name"] == "华信小贷"
    assert body["id"] and body["admin_user_id"]
    assert body["login_url"].endswith("/t/huaxin/login")
    assert "admin_password" not in body


def test_duplicate_slug_is_409(client) -> None:
    assert client.post("/api/v1/signup", json=GOOD).status_code == 201
    again = client.post("/api/v1/signup", json={**GOOD, "admin_email": "other@x.cn"})
    assert again.status_code == 409
    assert again.get_json()["code"] == "conflict" and "slug" in again.get_json()["errors"]


def test_weak_password_is_422_with_a_field_error(client) -> None:
    response = client.post("/api/v1/signup", json={**GOOD, "admin_password": "12345678"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert set(body["errors"]) == {"admin_password"} and body["errors"]["admin_password"]


@pytest.mark.parametrize(
    "slug",
    [
        "ab",
        "a" * 41,
        "Upper",
        "under_score",
        "-lead",
        "trail-",
        "dou--ble",
        "中文",
        "api",
        "admin",
        "static",
        "t",
    ],
)
def test_slug_rules(client, slug: str) -> None:
    response = client.post("/api/v1/signup", json={**GOOD, "slug": slug})
    assert response.status_code == 422, slug
    assert "slug" in response.get_json()["errors"]


@pytest.mark.parametrize("slug", ["abc", "a-b-c", "firm2026", "x" * 40])
def test_valid_slugs(client, slug: str) -> None:
    assert client.post("/api/v1/signup", json={**GOOD, "slug": slug}).status_code == 201


def test_missing_and_malformed_fields(client) -> None:
    missing = client.post("/api/v1/signup", json={})
    assert missing.status_code == 422
    assert {"name", "slug", "admin_email", "admin_password"} <= set(missing.get_json()["errors"])
    email = client.post("/api/v1/signup", json={**GOOD, "admin_email": "not-an-email"})
    assert email.status_code == 422 and "admin_email" in email.get_json()["errors"]
    not_json = client.post("/api/v1/signup", data="x", content_type="text/plain")
    assert not_json.status_code in (415, 422) and not_json.is_json


def test_messages_follow_accept_language(client) -> None:
    zh = client.post(
        "/api/v1/signup",
        json={**GOOD, "admin_password": "short"},
        headers={"Accept-Language": "zh-CN,zh;q=0.9"},
    )
    en = client.post(
        "/api/v1/signup",
        json={**GOOD, "admin_password": "short"},
        headers={"Accept-Language": "en-US"},
    )
    assert en.get_json()["errors"]["admin_password"][0] == "Use at least 10 characters."
    assert zh.get_json()["errors"]["admin_password"][0] != "Use at least 10 characters."


def test_same_email_may_exist_in_two_tenants(client) -> None:
    assert client.post("/api/v1/signup", json=GOOD).status_code == 201
    assert client.post("/api/v1/signup", json={**GOOD, "slug": "other-firm"}).status_code == 201
