# ruff: noqa: F811  (fixtures imported from the flow and SMS tests are used by name)
"""The seed rule a lending firm gave: "when an approval becomes 'approved', send the customer
the signing SMS". Configured through the API, it sends exactly one SMS through the HTTP SMS
gateway connector — the test gateway on 127.0.0.1 records each request it receives — with the
text rendered from the application's fields, however often the event is delivered and the
jobs run; and a rule firing at 23:30 Beijing time holds the SMS until the quiet hours end."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.helpers import ApiClient
from tests.platform.automations.conftest import deliver_and_run, run_job
from tests.platform.flows.api_helpers import ok, staff
from tests.platform.flows.conftest import Desk, at, desk  # noqa: F401
from tests.plugins.sms_http.conftest import Sms, gateway, sms  # noqa: F401

SIGNING = {
    "name": "审批通过发签约短信",
    "record_type": "application",
    "trigger": {"kind": "event", "event": "application.approved"},
    "actions": [
        {
            "type": "notify",
            "to": {"kind": "borrower", "channel": "sms", "field": "customer_id.mobile"},
            "texts": {
                "zh_CN": {
                    "body": "您的借款申请 {{ title }}（{{ amount }} 元，{{ term_months }} 期）"
                    "已获批准，请于三日内到店或在线完成签约。"
                }
            },
        }
    ],
}


@pytest.fixture
def signing(shop: Desk, sms: Sms, api_a: ApiClient) -> Desk:
    """The desk with the SMS gateway enabled and the signing rule saved through the API."""
    admin = staff(shop, "admin", ("automations:read", "automations:write"))
    ok(admin.post("/automations", json=SIGNING), 201)
    return shop


def _approve(desk: Desk) -> str:
    application, instance = desk.submit("80000")
    assert desk.act("approve", "a", instance) == "approved"
    number = desk.firm.staff["officer1"].api.get(f"/applications/{application}").get_json()
    return str(number["number"])


def _send(desk: Desk, now: datetime) -> int:
    from loandesk import pii
    from loandesk.notifications import service
    from loandesk.plugins import runtime

    with desk.session() as session:
        channels, keys = runtime.notification_channels(), pii.for_current_tenant()
        return service.send_due(session, channels, keys, now=now)


def _run_firings(desk: Desk, now: datetime) -> int:
    from loandesk.automations import engine
    from loandesk.plugins import runtime

    with desk.session() as session:
        types = {t.key: t for t in runtime.record_types()}
        return engine.run_pending(session, types, runtime.automation_actions(), now=now)


def test_approving_sends_exactly_one_signing_sms(signing: Desk, sms: Sms, api_a: ApiClient) -> None:
    from loandesk.events import OutboxEvent

    # no quiet hours, so that the test does not depend on the hour it runs at
    ok(api_a.put("/notifications/quiet-hours", json={"start": "00:00", "end": "00:00"}))
    number = _approve(signing)
    deliver_and_run(signing)
    with signing.session() as session:  # the event delivered a second time
        for event in session.query(OutboxEvent).filter(OutboxEvent.name == "application.approved"):
            event.delivered_at = None
    deliver_and_run(signing)
    run_job(signing, "core.send_messages")
    run_job(signing, "core.send_messages")

    assert len(sms.gateway.requests) == 1  # one request reached the provider, not a retry
    [sent] = sms.gateway.accepted
    assert sent["mobile"] == "13800138000"
    assert sent["content"] == (
        f"【某某小贷】您的借款申请 {number}（80000.00 元，12 期）已获批准，"
        "请于三日内到店或在线完成签约。"
    )


def test_a_rule_firing_at_half_past_eleven_holds_the_sms_until_morning(
    signing: Desk, sms: Sms
) -> None:
    from loandesk.notifications.models import Message

    _approve(signing)
    run_job(signing, "core.deliver_events")  # the firing is recorded; it runs at 23:30
    assert _run_firings(signing, at("2030-03-04T23:30:00")) == 1
    with signing.session() as session:
        [held] = session.query(Message).all()
        assert held.state == "pending" and held.send_after == at("2030-03-05T08:00:00")

    assert _send(signing, at("2030-03-04T23:31:00")) == 0
    assert _send(signing, at("2030-03-05T07:59:00")) == 0
    assert sms.gateway.requests == []  # nothing reached the provider at night
    assert _send(signing, at("2030-03-05T08:00:00")) == 1
    assert len(sms.gateway.requests) == 1 and len(sms.gateway.accepted) == 1
