"""``/api/v1/users``: list, invite, read, change, deactivate."""

from __future__ import annotations


def test_list_is_paginated(api_a) -> None:
    for i in range(5):
        r = api_a.post(
            "/users",
            json={
                "email": f"u{i}@a.cn",
                "display_name": f"员工{i}",
                "password": f"Good-pass-{i}xx",
            },
        )
        assert r.status_code == 201, r.get_json()
    page = api_a.get("/users?per_page=2&page=2").get_json()
    assert (page["page"], page["per_page"], page["total"], len(page["items"])) == (2, 2, 6, 2)
    last = api_a.get("/users?per_page=4&page=2").get_json()
    assert len(last["items"]) == 2
    assert api_a.get("/users?per_page=101").status_code == 422
    assert api_a.get("/users?page=0").status_code == 422


def test_invite_without_password_gives_an_invitation_link(api_a, client, tenant_a) -> None:
    r = api_a.post("/users", json={"email": "new@a.cn", "display_name": "新人"})
    assert r.status_code == 201
    body = r.get_json()
    assert body["status"] == "invited"
    assert body["invitation_url"].startswith(f"http://loandesk.test/t/{tenant_a.slug}/invite/")
    path = body["invitation_url"].removeprefix("http://loandesk.test")
    from tests.helpers import csrf_from

    token = csrf_from(client, path)
    weak = client.post(
        path, data={"password": "weak", "password_confirm": "weak", "csrf_token": token}
    )
    assert weak.status_code == 422
    ok = client.post(
        path,
        data={"password": "Brand-new-99", "password_confirm": "Brand-new-99", "csrf_token": token},
    )
    assert ok.status_code == 302
    assert api_a.get(f"/users/{body['id']}").get_json()["status"] == "active"
    assert client.get(path).status_code == 404  # used once


def test_duplicate_email_in_a_tenant_is_409(api_a, tenant_a) -> None:
    r = api_a.post("/users", json={"email": tenant_a.admin_email.upper(), "display_name": "X"})
    assert r.status_code == 409 and "email" in r.get_json()["errors"]


def test_validation_errors_are_422_per_field(api_a) -> None:
    r = api_a.post("/users", json={"email": "bad", "display_name": "", "password": "123"})
    assert r.status_code == 422
    assert {"email", "display_name", "password"} <= set(r.get_json()["errors"])
    r = api_a.post("/users", json={"email": "a@b.cn", "display_name": "x", "locale": "fr"})
    assert r.status_code == 422 and "locale" in r.get_json()["errors"]


def test_patch_and_delete(api_a) -> None:
    user = api_a.post(
        "/users", json={"email": "p@a.cn", "display_name": "P", "password": "Good-pass-1xx"}
    ).get_json()
    r = api_a.patch(
        f"/users/{user['id']}", json={"display_name": "王五", "is_admin": True, "locale": "en"}
    )
    assert r.status_code == 200
    assert (r.get_json()["display_name"], r.get_json()["is_admin"]) == ("王五", True)
    assert api_a.patch(f"/users/{user['id']}", json={"status": "gone"}).status_code == 422
    d = api_a.delete(f"/users/{user['id']}")
    assert d.status_code == 200 and d.get_json()["status"] == "deactivated"
    # never erased: still listed and readable
    assert api_a.get(f"/users/{user['id']}").get_json()["status"] == "deactivated"
    active_only = api_a.get("/users?include_deactivated=false").get_json()
    assert user["id"] not in [u["id"] for u in active_only["items"]]
    assert api_a.get("/users/not-a-uuid").status_code == 404


def test_the_last_admin_cannot_be_removed(api_a, tenant_a) -> None:
    r = api_a.delete(f"/users/{tenant_a.admin_user_id}")
    assert r.status_code == 422
    assert api_a.get(f"/users/{tenant_a.admin_user_id}").get_json()["status"] == "active"


def test_a_new_invitation_replaces_the_old_one(api_a, client) -> None:
    first = api_a.post("/users", json={"email": "late@a.cn", "display_name": "L"}).get_json()
    again = api_a.post(f"/users/{first['id']}/invitation")
    assert again.status_code == 201
    old_path = first["invitation_url"].removeprefix("http://loandesk.test")
    new_path = again.get_json()["invitation_url"].removeprefix("http://loandesk.test")
    assert client.get(old_path).status_code == 404
    assert client.get(new_path).status_code == 200
    active = api_a.post(
        "/users", json={"email": "on@a.cn", "display_name": "O", "password": "Active-pass-12"}
    ).get_json()
    assert api_a.post(f"/users/{active['id']}/invitation").status_code == 409
