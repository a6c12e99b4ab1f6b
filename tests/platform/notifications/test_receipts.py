# ruff: noqa: F811  (the fixture imported from admin_fixtures is used by name)
"""Delivery receipts in the core: ``sdk.record_delivery_receipt`` sets a message's delivery by
its channel and provider id (the detail's mobile numbers masked), only in the current tenant;
the message log's page and API show it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from tests.helpers import ApiClient
from tests.platform.notifications.admin_fixtures import Outbox, outbox  # noqa: F401

DAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


def test_a_receipt_sets_the_delivery_shown_in_the_log(outbox: Outbox, api_a: ApiClient) -> None:
    from loandesk import pii, sdk
    from loandesk.notifications import service
    from loandesk.notifications.models import Message
    from loandesk.plugins import runtime

    with outbox.session(outbox.a) as session:
        channels, keys = runtime.notification_channels(), pii.for_current_tenant()
        service.notify(
            session, "sms", service.Recipient.borrower("13800138000"), "提醒", key="r1",
            channels=channels, keys=keys, urgent=True, now=DAY,
        )  # fmt: skip
        assert service.send_due(session, channels, keys, now=DAY) == 1
    at = datetime(2026, 3, 2, 2, 0, 7, tzinfo=UTC)
    with outbox.session(outbox.b) as session:  # tenant B's receipt cannot touch A's message
        assert sdk.record_delivery_receipt(session, "sms", "p-1", True, at, "x") is None
    with outbox.session(outbox.a) as session:
        assert sdk.record_delivery_receipt(session, "email", "p-1", True, at, "x") is None
        assert sdk.record_delivery_receipt(session, "sms", "p-9", True, at, "x") is None
        found = sdk.record_delivery_receipt(
            session, "sms", "p-1", False, at, "MK:0001  13800138000 停机"
        )
        assert found is not None
    with outbox.session(outbox.a) as session:
        row = session.scalars(select(Message)).one()
        assert (row.delivery, row.delivered_at, row.delivery_detail) == (
            "undelivered", at, "MK:0001 138****8000 停机",
        )  # fmt: skip
    shown = api_a.get(f"/notifications/messages/{row.id}").get_json()
    assert (shown["delivery"], shown["delivery_detail"]) == (
        "undelivered", "MK:0001 138****8000 停机",
    )  # fmt: skip
    page = outbox.admin(outbox.a).get(f"/t/{outbox.a.slug}/admin/notifications/messages")
    assert 'data-delivery="undelivered"' in page.get_data(as_text=True)
    assert "Not delivered to the handset" in page.get_data(as_text=True)
