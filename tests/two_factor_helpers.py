"""Helpers for two-factor sign-in tests: a clock the test moves, enrolment through the web UI,
and the two sign-in steps. Codes are made with pyotp from the secret the page shows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pyotp
from flask import Flask
from flask.testing import FlaskClient

from loandesk.web.sign_in import CLOCK
from tests.helpers import TenantFixture, csrf_from

# A whole 30-second step on the epoch (in 2027).
T0 = 1_800_000_000
_SECRET = re.compile(r'id="totp-secret">\s*([A-Z2-7 ]+?)\s*<')
_RECOVERY = re.compile(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>")


class Clock:
    """The sign-in clock of an app (``loandesk.web.sign_in.CLOCK``), moved by the test."""

    def __init__(self, app: Flask, now: float = T0) -> None:
        self.now = float(now)
        app.extensions[CLOCK] = self

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Enrolled:
    secret: str
    recovery_codes: list[str]

    def code(self, at: float) -> str:
        return pyotp.TOTP(self.secret).at(at)

    def wrong_code(self, at: float) -> str:
        """Six digits that are no code of the steps around ``at``."""
        return wrong_code(self.secret, at)


def wrong_code(secret: str, at: float) -> str:
    valid = {pyotp.TOTP(secret).at(at + k * 30) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def secret_on(html: str) -> str:
    match = _SECRET.search(html)
    assert match, "no TOTP secret on the page"
    return match.group(1).replace(" ", "")


def recovery_codes_on(html: str) -> list[str]:
    return _RECOVERY.findall(html)


def enrol(client: FlaskClient, tenant: TenantFixture, clock: Clock) -> Enrolled:
    """Set up two-factor sign-in on My account (signed in already), confirming with the
    code of the clock's current step."""
    page = f"/t/{tenant.slug}/account/two-factor"
    html = client.get(page).get_data(as_text=True)
    secret = secret_on(html)
    done = client.post(
        page,
        data={"code": pyotp.TOTP(secret).at(clock.now), "csrf_token": csrf_from(client, page)},
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    codes = recovery_codes_on(done.get_data(as_text=True))
    assert len(codes) == 10
    return Enrolled(secret, codes)


def password_step(
    client: FlaskClient, tenant: TenantFixture, email: str | None = None, password: str = ""
) -> Any:
    login = f"/t/{tenant.slug}/login?lang=en"
    return client.post(
        login,
        data={
            "email": email or tenant.admin_email,
            "password": password or tenant.admin_password,
            "csrf_token": csrf_from(client, login),
        },
    )


def code_step(client: FlaskClient, tenant: TenantFixture, code: str) -> Any:
    page = f"/t/{tenant.slug}/login/code?lang=en"
    return client.post(page, data={"code": code, "csrf_token": csrf_from(client, page)})
