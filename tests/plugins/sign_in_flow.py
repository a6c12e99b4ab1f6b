"""The browser's side of signing in through a plugin's provider (钉钉登录, 企业微信登录), for
the plugins' tests: LoanDesk's Flask test client on one side, real HTTP to the provider's
local login page on the other (it signs someone in at once and redirects back)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ApiClient, TenantFixture

BASE_URL = "http://loandesk.test"  # the test settings' base_url


def english(app: Flask, tenant: TenantFixture) -> None:
    """The tenant's pages in English, so that the assertions read the message ids."""
    from loandesk.tenancy.models import Tenant

    with app.app_context(), app.extensions["loandesk"].db.transaction() as session:
        session.get(Tenant, uuid.UUID(tenant.id)).locale = "en"  # type: ignore[union-attr]


def new_staff(api: ApiClient, email: str, name: str = "李娜") -> str:
    """A new active staff member (a credit officer); their id."""
    created = api.post(
        "/users",
        json={"email": email, "display_name": name, "password": "Correct-horse-42",
              "roles": ["credit_officer"]},
    )  # fmt: skip
    assert created.status_code == 201, created.get_json()
    return str(created.get_json()["id"])


def round_trip(web: FlaskClient, slug: str, next_page: str | None = None, *, key: str) -> Any:
    """Sign-in button → the provider's login page → LoanDesk's callback; the callback's
    answer."""
    start = web.get(
        f"/t/{slug}/sign-in/{key}", query_string={"next": next_page} if next_page else None
    )
    assert start.status_code == 302, start.get_data(as_text=True)
    answer = requests.get(start.location, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}" == BASE_URL
    assert back.path == f"/t/{slug}/sign-in/{key}/callback"
    return web.get(f"{back.path}?{back.query}")


def callback_query(web: FlaskClient, slug: str, *, key: str) -> dict[str, str]:
    """Start a sign-in and let the provider answer; the query it sends the browser back
    with."""
    start = web.get(f"/t/{slug}/sign-in/{key}")
    answer = requests.get(start.location, allow_redirects=False, timeout=10)
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
