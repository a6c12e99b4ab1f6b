# ruff: noqa: F811  (the fixture imported from admin_fixtures is used by name)
"""Quiet hours (免打扰时段) on the API and the admin page: the defaults, setting them (audited
only when they change), none when start equals end, validation by field, who may see and
change them, and each tenant's own."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.helpers import ApiClient, csrf_from
from tests.platform.notifications.admin_fixtures import Outbox, audited, outbox, scoped_api  # noqa: F401

PATH = "/notifications/quiet-hours"


def test_the_api_reads_and_sets_the_quiet_hours(
    outbox: Outbox, api_a: ApiClient, api_b: ApiClient
) -> None:
    defaults = {"start": "21:00", "end": "08:00", "timezone": "Asia/Shanghai", "active": True}
    assert api_a.get(PATH).get_json() == defaults

    changed = api_a.put(PATH, json={"start": "22:30", "end": "7:00"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json() == {**defaults, "start": "22:30", "end": "07:00"}
    assert api_a.get(PATH).get_json()["start"] == "22:30"
    assert api_a.put(PATH, json={"start": "22:30", "end": "07:00"}).status_code == 200
    assert audited(outbox, outbox.a, "notification.quiet_hours") == [
        {"quiet_hours": [["21:00", "08:00"], ["22:30", "07:00"]]}
    ]  # the same hours again change nothing and are not audited twice

    none = api_a.put(PATH, json={"start": "12:00", "end": "12:00"}).get_json()
    assert (none["start"], none["end"], none["active"]) == ("12:00", "12:00", False)
    assert api_b.get(PATH).get_json() == defaults  # tenant B keeps its own


def test_wrong_times_are_refused_by_field_and_change_nothing(
    outbox: Outbox, api_a: ApiClient
) -> None:
    refused = api_a.put(PATH, json={"start": "25:00", "end": "late"})
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["code"] == "validation_error"
    assert set(body["errors"]) == {"start", "end"}
    assert body["errors"]["start"] == ["Give the time of day as HH:MM."]
    missing = api_a.put(PATH, json={"start": "22:00"})
    assert missing.status_code == 422 and set(missing.get_json()["errors"]) == {"end"}
    extra = api_a.put(PATH, json={"start": "22:00", "end": "06:00", "timezone": "UTC"})
    assert extra.status_code == 422 and set(extra.get_json()["errors"]) == {"timezone"}
    assert api_a.get(PATH).get_json()["start"] == "21:00"
    assert audited(outbox, outbox.a, "notification.quiet_hours") == []


def test_the_api_needs_the_notification_scopes(
    outbox: Outbox, client: FlaskClient, api_a: ApiClient
) -> None:
    reader = scoped_api(client, api_a, "notifications:read")
    assert reader.get(PATH).status_code == 200
    refused = reader.put(PATH, json={"start": "22:00", "end": "06:00"})
    assert refused.status_code == 403 and refused.get_json()["code"] == "insufficient_scope"
    other = outbox.staff["officer"].api  # records scopes only
    assert other.get(PATH).get_json()["code"] == "insufficient_scope"
    assert api_a.get(PATH).get_json()["start"] == "21:00"


def _page(outbox: Outbox) -> str:
    return f"/t/{outbox.a.slug}/admin/notifications/quiet-hours"


def test_the_admin_page_shows_and_saves_the_quiet_hours(outbox: Outbox, api_a: ApiClient) -> None:
    web = outbox.admin(outbox.a)
    html = web.get(_page(outbox)).get_data(as_text=True)
    assert 'value="21:00"' in html and 'value="08:00"' in html
    assert "Now: from 21:00 to 08:00, Asia/Shanghai time." in html
    assert re.search(r'<a class="nav-item[^"]*" href="[^"]*/admin/notifications/quiet-hours"', html)

    token = csrf_from(web, _page(outbox))
    saved = web.post(_page(outbox), data={"start": "22:15", "end": "06:45", "csrf_token": token})
    assert saved.status_code == 302
    assert api_a.get(PATH).get_json()["start"] == "22:15"
    html = web.get(_page(outbox)).get_data(as_text=True)
    assert "Saved." in html and "Now: from 22:15 to 06:45, Asia/Shanghai time." in html

    same = web.post(_page(outbox), data={"start": "07:00", "end": "07:00", "csrf_token": token})
    assert same.status_code == 302
    html = web.get(_page(outbox)).get_data(as_text=True)
    assert "Now: no quiet hours. Messages to borrowers go at any time." in html
    assert len(audited(outbox, outbox.a, "notification.quiet_hours")) == 2


def test_a_wrong_time_is_shown_next_to_its_field(outbox: Outbox, api_a: ApiClient) -> None:
    web = outbox.admin(outbox.a)
    token = csrf_from(web, _page(outbox))
    refused = web.post(_page(outbox), data={"start": "9 pm", "end": "06:00", "csrf_token": token})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    error = re.search(r'<div id="f-start-error">\s*<div class="field-error">([^<]*)</div>', html)
    assert error and error.group(1) == "Give the time of day as HH:MM."
    assert "f-end-error" not in html
    assert 'value="9 pm"' in html  # what was typed stays to be corrected
    assert api_a.get(PATH).get_json()["start"] == "21:00"
    no_token = web.post(_page(outbox), data={"start": "22:00", "end": "06:00"})
    assert no_token.status_code == 400
    assert api_a.get(PATH).get_json()["start"] == "21:00"


def test_only_those_who_manage_notifications_open_the_page(outbox: Outbox) -> None:
    for name in ("officer", "auditor"):
        web = outbox.sign_in(outbox.a, outbox.staff[name].email)
        assert web.get(_page(outbox)).status_code == 403
        home = web.get(f"/t/{outbox.a.slug}/").get_data(as_text=True)
        assert "/admin/notifications/quiet-hours" not in home
    assert outbox.app.test_client().get(_page(outbox)).status_code == 302  # to the sign-in
