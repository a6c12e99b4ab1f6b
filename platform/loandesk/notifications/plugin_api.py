"""Messages a plugin sends and hears about through the core's outbox: to a staff member
(``notify_staff_member``), to a borrower (``notify_borrower``, ``send_sms`` with the tenant's
SMS templates), and the delivery receipts (回执) SMS providers report. Plugins reach these
through ``loandesk.sdk``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from loandesk.db import uuid7
from loandesk.i18n import N_
from loandesk.plugins.forms import labels as setting_labels


def notify_staff_member(
    session: Session,
    channel: str,
    user_id: uuid.UUID,
    body: str,
    *,
    key: str,
    subject: str = "",
    record: tuple[str, str] | None = None,
) -> Any:
    """Queue a message to one staff member on the tenant's channel ``channel`` (a connector's
    own, such as DingTalk's work notifications) in the caller's transaction, idempotent on
    ``key``, in the tenant's language and time zone. ``ValidationFailed`` on ``channel`` when
    the tenant has no such channel. (The core picks staff's own channels, in-app or e-mail,
    by their preference: this is for a channel a plugin reaches them on besides.)"""
    from loandesk import pii
    from loandesk.notifications import service
    from loandesk.plugins import runtime
    from loandesk.tenancy import current as current_tenant

    tenant = current_tenant()
    return service.notify(
        session,
        channel,
        service.Recipient.staff(user_id),
        body,
        subject=subject,
        key=key,
        channels=runtime.notification_channels(),
        keys=pii.for_current_tenant(),
        record=record,
        locale=tenant.locale or "zh_CN",
        timezone=tenant.timezone,
    )


def notify_borrower(
    session: Session,
    mobile: str,
    body: str,
    *,
    key: str,
    record: tuple[str, str] | None = None,
    urgent: bool = False,
) -> Any:
    """Queue an SMS (the ``sms`` channel) to a borrower's ``mobile`` in the caller's
    transaction, idempotent on ``key`` (a key already used returns its message). Not
    ``urgent`` messages wait out the tenant's quiet hours; a one-time code is urgent.
    ``ValidationFailed`` on ``channel`` when the tenant has no SMS channel."""
    from loandesk import pii
    from loandesk.notifications import service
    from loandesk.plugins import runtime
    from loandesk.tenancy import current as current_tenant

    tenant = current_tenant()
    return service.notify(
        session,
        "sms",
        service.Recipient.borrower(mobile),
        body,
        key=key,
        channels=runtime.notification_channels(),
        keys=pii.for_current_tenant(),
        urgent=urgent,
        record=record,
        locale=tenant.locale or "zh_CN",
        timezone=tenant.timezone,
    )


def receipt_time(text: Any) -> Any:
    """A Chinese SMS provider's receipt time, ``YYYY-MM-DD HH:MM:SS`` in Beijing time, as an
    aware datetime (None when it is not one)."""
    from loandesk.notifications import receipts

    return receipts.beijing_time(text)


def receipt_token_setting() -> Any:
    """The settings field of a receipt URL's random token (``receive_delivery_receipts``): an
    optional secret of 24 to 100 letters, digits, ``_`` or ``-``, stored encrypted."""
    import marshmallow as ma
    from marshmallow import validate

    return ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9_-]{24,100}$", error=N_("Use 24 to 100 letters, digits, _ or -.")
        ),
        metadata=setting_labels(
            "回执令牌",
            "Receipt token",
            "随机字符串（至少 24 位），放在服务商回执推送地址中；加密保存，保存后不再显示",
            "A random string (24+ characters) in the receipt URL given to the provider; "
            "stored encrypted, never shown again",
            secret=True,
        ),
    )


def record_delivery_receipt(
    session: Session,
    channel_key: str,
    provider_message_id: str,
    delivered: bool,
    at: Any,
    detail: str = "",
) -> Any:
    """Record a provider's delivery receipt (回执) for the message its channel ``channel_key``
    sent and the provider knows as ``provider_message_id`` (what ``send`` returned):
    ``delivered`` to the handset or not, ``at`` (an aware datetime, or None), the provider's
    ``detail`` (status code and words; mobile numbers masked). In the caller's transaction;
    the message, or None when the current tenant has none with that id. Shown in the message
    log."""
    from loandesk.notifications import receipts

    return receipts.record(session, channel_key, provider_message_id, delivered, at, detail)


def receive_delivery_receipts(
    plugin: str, token: str, expected: str | None, record: Callable[[Session, Any], object]
) -> int:
    """The body of a receipt route whose URL carries the tenant's random token (providers
    that do not sign their pushes): 403 when ``token`` is not ``expected`` (compared in
    constant time), 400 when ``record(session, parsed JSON body)`` raises ``ValueError`` (not
    the provider's documented body; a body that is not JSON comes as None), each audited as a
    refused callback (``callback.refused``, a digest of the body, never the body or token);
    else the receipts are committed and 200. The HTTP status to answer with."""
    from flask import request

    from loandesk.extension import session as current_session
    from loandesk.notifications import receipts

    return receipts.receive(
        current_session(), plugin, token, expected, record,
        request.get_data(), request.remote_addr,
    )  # fmt: skip


def send_sms(
    session: Session,
    to: str,
    template_key: str,
    params: Mapping[str, Any],
    *,
    record_type: str | None = None,
    record_id: str | None = None,
    key: str | None = None,
    urgent: bool = False,
) -> Any:
    """Queue an SMS to the borrower's mobile ``to`` with the tenant's SMS template
    ``template_key`` (短信模板, kept at Administration → SMS templates) in the caller's
    transaction. ``params`` gives each ``{param}`` placeholder of the template's text its value
    (text), no more and no fewer: ``ValidationFailed`` names what is wrong, or ``template``
    when no enabled template has that key. The message log keeps the rendered text; the
    ``sms`` channel gets the template's provider code and the params in placeholder order.
    ``key`` makes it idempotent (a key already used returns its message); without one each
    call queues a new message. Not ``urgent`` messages wait out the quiet hours."""
    from loandesk import pii
    from loandesk.notifications import service, sms_templates
    from loandesk.plugins import runtime
    from loandesk.tenancy import current as current_tenant

    tenant = current_tenant()
    prepared = sms_templates.prepare(session, template_key, params)
    record = (record_type, str(record_id)) if record_type and record_id is not None else None
    return service.notify(
        session,
        "sms",
        service.Recipient.borrower(to),
        prepared.body,
        key=key or f"sms:{template_key}:{uuid7()}",
        channels=runtime.notification_channels(),
        keys=pii.for_current_tenant(),
        urgent=urgent,
        record=record,
        locale=tenant.locale or "zh_CN",
        timezone=tenant.timezone,
        template=prepared.use,
    )
