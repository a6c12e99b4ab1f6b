"""The public lead form: no sign-in, its link's attribution kept, the consent recorded with
the text agreed to, CSRF-checked, refusals next to the field with nothing saved, and limited
per client address."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import text

from tests.helpers import tenant_session
from tests.plugins.channels.conftest import Channels, submit_public_form

CONSENT = (
    "I agree that the lender may store my name and mobile number and contact me about "
    "my loan enquiry."
)


def _leads(app: Flask, channels: Channels) -> list[tuple[str, ...]]:
    with tenant_session(app, channels.firm.tenant.slug) as session:
        rows = session.execute(
            text(
                "select name, mobile_hash, consent_version, consent_hash, utm_campaign, referrer,"
                " status from channels_leads order by created_at"
            )
        )
        return [tuple(row) for row in rows]


def test_the_form_records_the_consent_and_attribution(channels: Channels, app: Flask) -> None:
    link = channels.links["agent2"] + "&utm_campaign=autumn&referrer=https://example.cn/ad"
    sent = submit_public_form(app, link, name="周六", mobile="+86 139 1111 0006")
    assert sent.status_code == 200, sent.get_data(as_text=True)
    ((name, mobile_hash, version, consent_hash, campaign, referrer, status),) = _leads(
        app, channels
    )
    assert (name, campaign, referrer, status) == ("周六", "autumn", "https://example.cn/ad", "new")
    assert mobile_hash and "13911110006" not in str(mobile_hash)  # stored encrypted
    assert version == "lead-2026-11"
    assert consent_hash == hashlib.sha256(CONSENT.encode()).hexdigest()
    lead = channels.firm.staff["agent2"].api.get("/channels/leads").get_json()["items"][0]
    assert (
        lead["mobile"] == "13911110006"
        and lead["owner_id"] == channels.firm.staff["agent2"].user_id
    )


def test_refusals_show_next_to_the_field_and_save_nothing(channels: Channels, app: Flask) -> None:
    refused = submit_public_form(app, channels.links["agent1"], name="", mobile="12345", consent="")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "This field is required." in html
    assert "Enter an 11-digit mainland mobile number." in html
    assert "Agree to be contacted to send your enquiry." in html
    assert 'value="12345"' in html  # what was typed stays
    assert _leads(app, channels) == []


def test_the_form_needs_its_csrf_token(channels: Channels, app: Flask) -> None:
    browser = app.test_client()
    path = urlsplit(channels.links["agent1"]).path
    assert browser.get(path).status_code == 200
    forged = browser.post(path, data={"name": "吴七", "mobile": "13911110007", "consent": "on"})
    assert forged.status_code in (400, 403)
    assert _leads(app, channels) == []


def test_the_form_is_limited_per_address(
    channels: Channels, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loandesk.settings import Rate

    ext = app.extensions["loandesk"]
    monkeypatch.setattr(
        ext, "settings", ext.settings.replace(rate_limit_public_form_ip=Rate(2, timedelta(hours=1)))
    )
    for n in range(2):
        sent = submit_public_form(
            app, channels.links["agent1"], name=f"郑{n}", mobile="13911110008"
        )
        assert sent.status_code == 200
    refused = submit_public_form(app, channels.links["agent1"], name="郑九", mobile="13911110009")
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert [row[0] for row in _leads(app, channels)] == ["郑0", "郑1"]
