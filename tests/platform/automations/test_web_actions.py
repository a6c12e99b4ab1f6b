# ruff: noqa: F811  (fixtures imported from the web tests are used by name)
"""The rule form offers "Start the approval flow" only on record types with approval and
"Call a webhook" with its URL input; a private address is refused next to that input; the
webhook secret page shows the secret only in answer to a POST (audited, not cached) and
makes a new one on request. English pages: the assertions read the message ids."""

from __future__ import annotations

import re
from typing import Any

from tests.platform.automations.test_web import Admin, _error_after, _rules, admin  # noqa: F401

FORM = {
    "name": "提交后通知核心系统",
    "record_type": "application",
    "trigger_kind": "event",
    "event": "application.submitted",
    "enabled": "on",
}


def _offered(html: str) -> list[str]:
    return re.findall(r'name="add_action" value="([a-z_.]+)"', html)


def test_the_form_offers_each_action_where_it_fits(admin: Admin) -> None:
    on_applications = admin.post("/refresh", htmx=True, record_type="application",
                                 trigger_kind="event").get_data(as_text=True)  # fmt: skip
    assert {"start_flow", "webhook"} <= set(_offered(on_applications))
    on_customers = admin.post("/refresh", htmx=True, record_type="customer",
                              trigger_kind="event").get_data(as_text=True)  # fmt: skip
    assert "webhook" in _offered(on_customers) and "start_flow" not in _offered(on_customers)

    added = admin.post("/refresh", htmx=True, **FORM, add_action="webhook").get_data(as_text=True)
    assert 'name="actions.0.url"' in added and 'name="actions.0.params"' not in added
    flow = admin.post("/refresh", htmx=True, **FORM, add_action="start_flow").get_data(as_text=True)
    assert 'name="actions.0.type" value="start_flow"' in flow
    assert "its owner as the submitter" in flow and 'name="actions.0.params"' not in flow


def test_both_actions_are_saved_through_the_form(admin: Admin) -> None:
    data = {
        **FORM,
        "actions.0.type": "start_flow",
        "actions.1.type": "webhook",
        "actions.1.url": " https://hooks.example.cn/loandesk ",
    }
    created = admin.post("/new", **data)
    assert created.status_code == 302, created.get_data(as_text=True)
    [(_name, _trigger, _condition, actions, _enabled)] = _rules(admin.desk)
    assert actions == [
        {"type": "start_flow"},
        {"type": "webhook", "url": "https://hooks.example.cn/loandesk"},
    ]
    page = admin.client.get(created.headers["Location"]).get_data(as_text=True)
    assert 'value="https://hooks.example.cn/loandesk"' in page


def test_a_private_address_is_refused_next_to_the_url(admin: Admin) -> None:
    data = {**FORM, "actions.0.type": "webhook", "actions.0.url": "https://192.168.1.20/in"}
    refused = admin.post("/new", htmx=True, **data)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "inside a private network" in _error_after(html, "actions.0.url")
    assert 'value="https://192.168.1.20/in"' in html
    assert _rules(admin.desk) == []


def test_the_secret_is_shown_only_when_asked_and_audited(admin: Admin) -> None:
    from sqlalchemy import select

    from loandesk.audit.models import AuditEvent

    page = admin.page("/webhook-secret")
    assert "No secret yet" in page and 'id="secret-value"' not in page
    assert 'id="rotate-secret"' not in page  # nothing to replace yet
    shown = admin.post("/webhook-secret/reveal")
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    first = _secret(shown.get_data(as_text=True))
    assert first.startswith("whsec_")
    again = admin.page("/webhook-secret")
    assert first not in again and "The secret in force was made on" in again
    assert _secret(admin.post("/webhook-secret/reveal").get_data(as_text=True)) == first

    rotated = admin.post("/webhook-secret/rotate").get_data(as_text=True)
    second = _secret(rotated)
    assert second != first and "A new webhook secret is in force" in rotated
    with admin.desk.session() as session:
        events = session.execute(
            select(AuditEvent.action, AuditEvent.actor_kind, AuditEvent.diff).where(
                AuditEvent.action.like("automation.webhook_secret.%")
            ).order_by(AuditEvent.seq)
        ).all()  # fmt: skip
    assert [(a, k) for a, k, _d in events] == [
        ("automation.webhook_secret.reveal", "user"),
        ("automation.webhook_secret.reveal", "user"),
        ("automation.webhook_secret.rotate", "user"),
    ]
    assert not any(first in str(d) or second in str(d) for *_x, d in events)


def _secret(html: str) -> Any:
    match = re.search(r'id="secret-value">([^<]+)<', html)
    assert match, "no secret on the page"
    return match[1]


def test_the_dry_run_page_says_what_the_actions_would_do(admin: Admin) -> None:
    from tests.platform.automations.conftest import save_rule

    rule_id = save_rule(admin.desk, {
        "name": "提交后通知", "trigger": {"kind": "event", "event": "application.submitted"},
        "actions": [{"type": "start_flow"}, {"type": "webhook", "url": "https://hooks.example.cn/in"}],
    })  # fmt: skip
    submitted, _instance = admin.desk.submit("80000")
    html = admin.post(f"/{rule_id}/dry-run", htmx=True, record=submitted).get_data(as_text=True)
    assert "The record is already in approval." in html
    assert "POST this body to https://hooks.example.cn/in" in html and submitted in html
