"""The automation action ``notify``: checked when the rule is saved (texts over the record's
fields, a channel that reaches borrowers, a field holding their address), and when the rule
fires it queues an SMS to the borrower (the phone of the application's customer) and an in-app
notification to the owner, once however often the firing runs; the outbox sends the SMS."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.platform.automations.conftest import deliver_and_run, run_job, save_rule
from tests.platform.flows.conftest import Desk
from tests.platform.notifications.conftest import Connector, messages

TO_BORROWER = {
    "type": "notify",
    "to": {"kind": "borrower", "channel": "sms", "field": "customer_id.mobile"},
    "texts": {
        "zh_CN": {"body": "{{ title }}：您的借款 {{ amount }} 元已获批准"},
        "en": {"body": "Your loan of {{ amount }} is approved"},
    },
    "urgent": True,
}
TO_OWNER = {
    "type": "notify",
    "to": {"kind": "owner"},
    "texts": {"en": {"subject": "Approved: {{ amount }}", "body": "Call the customer"}},
}
RULE = {
    "name": "批准后通知",
    "trigger": {"kind": "event", "event": "application.approved"},
    "actions": [TO_BORROWER, TO_OWNER],
}


def test_a_rule_notifies_the_borrower_and_the_owner_once(shop: Desk, connector: Connector) -> None:
    from loandesk.events import OutboxEvent
    from loandesk.notifications.models import InAppNotification

    save_rule(shop, RULE)
    application, instance = shop.submit("80000")
    shop.act("approve", "a", instance)
    deliver_and_run(shop)
    found = messages(shop)
    owner = shop.user("officer1")
    assert [(m[1], m[2], m[3]) for m in found] == [
        ("sms", "borrower", "pending"), ("in_app", "staff", "sent"),
    ]  # fmt: skip
    assert "您的借款 80000" in found[0][5] and found[0][6] == "138****8000"
    assert found[1][0].endswith(f":1:{owner}:in_app")
    with shop.session() as session:
        note = session.scalars(select(InAppNotification)).one()
        # no Chinese text for the owner: the English one stands in
        assert note.user_id == owner and note.title.startswith("Approved: 80000")
        assert (note.body, note.record_type, note.record_id) == (
            "Call the customer", "application", application,
        )  # fmt: skip
        for event in session.scalars(
            select(OutboxEvent).where(OutboxEvent.name == "application.approved")
        ):
            event.delivered_at = None
    deliver_and_run(shop)
    run_job(shop, "core.run_firings")
    assert messages(shop) == found
    run_job(shop, "core.send_messages")  # urgent: quiet hours do not hold it
    assert [(m.channel, m.address, m.record_id) for m in connector.sent] == [
        ("sms", "13800138000", application)
    ]
    assert messages(shop)[0][3] == "sent"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"texts": {"zh_CN": {"body": "{{ nope }}"}}}, "actions.0.texts.zh_CN.body"),
        ({"texts": {"fr": {"body": "x"}}}, "actions.0.texts"),
        ({"to": {"kind": "borrower", "channel": "wecom", "field": "customer_id.mobile"}},
         "actions.0.to.channel"),
        ({"to": {"kind": "borrower", "channel": "sms", "field": "amount"}}, "actions.0.to.field"),
        ({"to": {"kind": "borrower", "channel": "email", "field": "customer_id.mobile"}},
         "actions.0.to.field"),
        ({"to": {"kind": "role", "role": "astronaut"}}, "actions.0.to"),
        ({"urgent": "yes"}, "actions.0.urgent"),
    ],
)  # fmt: skip
def test_a_wrong_notify_action_is_refused_when_saved(
    shop: Desk, connector: Connector, change: dict[str, Any], where: str
) -> None:
    from loandesk.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        save_rule(shop, {**RULE, "actions": [{**TO_BORROWER, **change}]})
    assert list(refused.value.errors) == [where]


def test_without_an_sms_connector_the_borrower_cannot_be_texted(shop: Desk) -> None:
    from loandesk.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        save_rule(shop, RULE)
    assert list(refused.value.errors) == ["actions.0.to.channel"]


TO_BORROWER_TEMPLATED = {
    "type": "notify",
    "to": {"kind": "borrower", "channel": "sms", "field": "customer_id.mobile"},
    "sms_template": {
        "key": "app.approved",
        "params": {"amount": "{{ amount }}", "title": "{{ title }}"},
    },
    "urgent": True,
}


def _add_template(shop: Desk) -> None:
    from loandesk.notifications import sms_templates

    with shop.session() as session:
        sms_templates.create(session, {
            "key": "app.approved", "name": "获批", "provider_code": "SMS_1",
            "text": "{title}：您的借款 {amount} 元已获批准",
        })  # fmt: skip


def test_a_rule_texts_the_borrower_with_an_sms_template(shop: Desk, connector: Connector) -> None:
    from loandesk.notifications.models import Message

    _add_template(shop)
    save_rule(shop, {**RULE, "actions": [TO_BORROWER_TEMPLATED]})
    _application, instance = shop.submit("80000")
    shop.act("approve", "a", instance)
    deliver_and_run(shop)
    with shop.session() as session:
        row = session.scalars(select(Message)).one()
        title = row.template_params["title"]
        assert (row.template_key, row.template_code, list(row.template_params)) == (
            "app.approved", "SMS_1", ["title", "amount"],
        )  # fmt: skip
        assert row.template_params["amount"] == "80000.00" and title
        assert row.body == f"{title}：您的借款 80000.00 元已获批准"
    run_job(shop, "core.send_messages")
    sent = connector.sent[-1]
    assert sent.template is not None and sent.template.params == (
        ("title", title), ("amount", "80000.00"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"key": "nope"}, "actions.0.sms_template.key"),
        ({"params": {"amount": "{{ amount }}"}}, "actions.0.sms_template.params.title"),
        ({"params": {"amount": "x", "title": "y", "z": "1"}}, "actions.0.sms_template.params.z"),
        ({"params": {"amount": "{{ nope }}", "title": "y"}},
         "actions.0.sms_template.params.amount"),
    ],
)  # fmt: skip
def test_a_wrong_sms_template_is_refused_when_saved(
    shop: Desk, connector: Connector, change: dict[str, Any], where: str
) -> None:
    from loandesk.errors import ValidationFailed

    _add_template(shop)
    chosen = {**TO_BORROWER_TEMPLATED["sms_template"], **change}  # type: ignore[dict-item]
    with pytest.raises(ValidationFailed) as refused:
        save_rule(shop, {**RULE, "actions": [{**TO_BORROWER_TEMPLATED, "sms_template": chosen}]})
    assert list(refused.value.errors) == [where]
    email = {**TO_BORROWER_TEMPLATED, "to": {**TO_BORROWER["to"], "channel": "email"}}  # type: ignore[dict-item]
    with pytest.raises(ValidationFailed) as refused:
        save_rule(shop, {**RULE, "actions": [email]})
    assert "actions.0.sms_template" in refused.value.errors  # and the field is no e-mail
