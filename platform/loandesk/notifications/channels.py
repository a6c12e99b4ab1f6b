"""The channel contract: what a connector plugin (SMS, e-mail, DingTalk, WeCom) gives the
notification service through ``loandesk_notification_channels``, and the core's own in-app
channel."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Audience = Literal["staff", "borrower"]
AddressKind = Literal["mobile", "email", "user"]


@dataclass(frozen=True)
class SmsTemplateUse:
    """An SMS sent with one of the tenant's templates: the provider's ``code`` for it, the
    ``params`` as (name, value) pairs in the order the placeholders first appear in the
    template's text, and that text rendered (also the message's ``body``)."""

    key: str
    code: str
    params: tuple[tuple[str, str], ...]
    text: str

    def as_dict(self) -> dict[str, str]:
        return dict(self.params)


@dataclass(frozen=True)
class OutgoingMessage:
    """One message as a channel sends it. ``address`` is the plaintext phone number or e-mail
    (``user``-addressed channels get the staff member's id as text); ``key`` is unique to the
    message: give it to the provider as the idempotency key, so a retry after a lost answer
    does not send twice. ``session`` is set only for ``immediate`` channels (the caller's
    transaction). ``template``: the SMS template it was sent with (``sdk.send_sms``), None for
    free text in ``body``."""

    key: str
    tenant_id: uuid.UUID
    channel: str
    audience: Audience
    address: str
    subject: str
    body: str
    locale: str
    urgent: bool
    record_type: str | None = None
    record_id: str | None = None
    user_id: uuid.UUID | None = None
    session: Any = None
    template: SmsTemplateUse | None = None


class Undeliverable(Exception):
    """Raised by a channel's ``send`` when trying again cannot help (the recipient is over a
    sending limit, the provider refuses the address for good): the outbox marks the message
    failed at once, with this error, instead of retrying it."""


@dataclass(frozen=True)
class Channel:
    """A way to send messages. ``key`` names it (``sms``, ``email``, ``dingtalk``; a plugin's
    own may be ``<plugin>.<name>`` too); ``address_kind`` says what it sends to (``mobile``,
    ``email`` or ``user``: a staff member inside an app like DingTalk or the in-app bell);
    ``audiences`` whom it may reach (``borrower``, ``staff``). ``send(message)`` delivers one
    message and returns the provider's id for it; it raises on failure, and the outbox retries
    with backoff (``Undeliverable``: marked failed at once). ``immediate`` channels (the
    core's in-app one) are sent inside the caller's transaction instead of by the outbox
    job. A channel with ``daily_limit`` (a callable that returns the current tenant's limit,
    read from its plugin's settings) lets each borrower address get at most that many messages
    a tenant-local day: the outbox counts each message once, before ``send``, and fails one
    over the limit at once (``notifications.limits``)."""

    key: str
    label_zh: str
    label_en: str
    send: Callable[[OutgoingMessage], str]
    address_kind: AddressKind = "mobile"
    audiences: frozenset[str] = frozenset({"borrower"})
    immediate: bool = False
    daily_limit: Callable[[], int] | None = None

    def label(self, locale: str) -> str:
        return self.label_zh if locale.startswith("zh") else self.label_en

    def reaches(self, audience: str) -> bool:
        return audience in self.audiences


def _store_in_app(message: OutgoingMessage) -> str:
    """The in-app channel: a row the staff member sees under the bell until read."""
    from loandesk.notifications.models import InAppNotification

    assert message.session is not None and message.user_id is not None
    row = InAppNotification(
        tenant_id=message.tenant_id,
        user_id=message.user_id,
        title=(message.subject or message.body)[:200],
        body=message.body if message.subject else "",
        record_type=message.record_type,
        record_id=message.record_id,
    )
    message.session.add(row)
    message.session.flush()
    return str(row.id)


IN_APP = Channel(
    "in_app",
    "站内通知",
    "In-app",
    _store_in_app,
    address_kind="user",
    audiences=frozenset({"staff"}),
    immediate=True,
)

CORE_CHANNELS: tuple[Channel, ...] = (IN_APP,)


def available(plugin_channels: list[Channel]) -> dict[str, Channel]:
    """The core's channels and the plugins', by key (a plugin cannot replace ``in_app``)."""
    found = {c.key: c for c in plugin_channels}
    found.update({c.key: c for c in CORE_CHANNELS})
    return found
