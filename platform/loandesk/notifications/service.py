"""The notification service: ``notify`` writes a message to the outbox in the caller's
transaction (idempotent on its key), holding borrower messages through the tenant's quiet
hours; ``notify_staff`` picks a staff member's channels by their preference; ``send_due``
(the ``core.send_messages`` job) sends what is due through its channel, with retries;
``retry`` puts a message that failed back in the outbox."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.auth.models import User
from loandesk.connectors.status import Tally
from loandesk.db import utcnow, uuid7
from loandesk.errors import Conflict, ValidationFailed
from loandesk.i18n import N_
from loandesk.notifications import limits, quiet, sms_templates
from loandesk.notifications.channels import Channel, OutgoingMessage, SmsTemplateUse, Undeliverable
from loandesk.notifications.models import Message, Preference
from loandesk.pii import Keyring, mask, validate
from loandesk.tenancy import current_id

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1))
CLAIM = timedelta(minutes=5)  # a runner that died while sending lets go after this
RECORD = "notification_messages"  # what the encrypted address is bound to
_QUEUED = "loandesk.notifications.queued"


@dataclass(frozen=True)
class Recipient:
    """Whom a message is for: a staff member (``user_id``) or a borrower (``address``, their
    phone number or e-mail, in plaintext here and encrypted in the outbox)."""

    kind: Literal["staff", "borrower"]
    user_id: uuid.UUID | None = None
    address: str = ""

    @classmethod
    def staff(cls, user_id: uuid.UUID) -> Recipient:
        return cls("staff", user_id=user_id)

    @classmethod
    def borrower(cls, address: str) -> Recipient:
        return cls("borrower", address=address)


def _problem(text: str, **params: Any) -> ValidationFailed:
    from loandesk.fields.validation import message

    return ValidationFailed(
        N_("The message cannot be sent."), errors={"channel": [message(text, **params)]}
    )


def _address(session: Session, channel: Channel, recipient: Recipient) -> str:
    if recipient.kind == "staff":
        if recipient.user_id is None:
            raise _problem(N_("Choose a staff member."))
        if channel.address_kind == "user":
            return str(recipient.user_id)
        user = session.get(User, (current_id(), recipient.user_id))
        if user is None or channel.address_kind != "email":
            raise _problem(N_("This channel cannot reach staff members."))
        return user.email
    if channel.address_kind == "mobile":
        return validate("mobile", recipient.address, field="address")
    if channel.address_kind == "email" and "@" in recipient.address.strip()[1:-1]:
        return recipient.address.strip()
    raise _problem(N_("The borrower has no address this channel can use."))


def _masked(kind: str, address: str) -> str:
    if kind == "mobile":
        return mask("mobile", address)
    if kind == "email":
        name, _, domain = address.partition("@")
        return f"{name[:1]}***@{domain}"
    return address


def _first_moment(
    session: Session, audience: str, urgent: bool, now: datetime, timezone: str
) -> datetime:
    """When a message may go: a borrower's that is not urgent waits out the quiet hours."""
    if audience == "borrower" and not urgent:
        return quiet.held_until(now, timezone, quiet.hours_of(session)) or now
    return now


def notify(
    session: Session,
    channel: str,
    recipient: Recipient,
    body: str,
    *,
    key: str,
    channels: Mapping[str, Channel],
    keys: Keyring,
    subject: str = "",
    urgent: bool = False,
    record: tuple[str, str] | None = None,
    locale: str = "zh_CN",
    timezone: str = "Asia/Shanghai",
    now: datetime | None = None,
    template: SmsTemplateUse | None = None,
) -> Message:
    """Put one message in the outbox, in the caller's transaction, and return it. A ``key``
    already used returns the message it made (an automation retried: pass ``ctx.key``).
    ``channels``: the tenant's (``plugins.runtime.notification_channels()``). A borrower
    message that is not ``urgent`` waits for the end of the tenant's quiet hours; an
    immediate channel (in-app) is delivered here and now. ``template``: the SMS template
    ``body`` was rendered from (``sms_templates.prepare``), kept with the message for its
    channel. ``ValidationFailed`` when the channel is not available or cannot reach the
    recipient."""
    existing = session.scalar(select(Message).where(Message.key == key))
    if existing is not None:
        return existing
    found = channels.get(channel)
    if found is None:
        raise _problem(N_("No channel %(name)s is available."), name=channel)
    if not found.reaches(recipient.kind):
        raise _problem(N_("This channel cannot reach this recipient."))
    now = now or utcnow()
    address = _address(session, found, recipient)
    message = Message(
        id=uuid7(),
        tenant_id=keys.tenant_id,
        key=key,
        channel=found.key,
        audience=recipient.kind,
        user_id=recipient.user_id,
        address_masked=_masked(found.address_kind, address)[:100],
        subject=subject[:200],
        body=body,
        locale=locale,
        urgent=urgent,
        record_type=record[0] if record else None,
        record_id=record[1] if record else None,
        state="pending",
        attempts=0,
        send_after=_first_moment(session, recipient.kind, urgent, now, timezone),
        provider_id="",
        last_error="",
        created_at=now,
        template_key=template.key if template else None,
        template_code=template.code if template else None,
        template_params=template.as_dict() if template else None,
    )
    if found.address_kind != "user":
        message.address_enc = keys.encrypt(
            address, record_type=RECORD, field="address", record_id=message.id
        )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:  # another transaction wrote this key first
        return session.scalars(select(Message).where(Message.key == key)).one()
    if found.immediate:
        message.provider_id = found.send(_outgoing(message, address, session))[:200]
        message.state, message.sent_at = "sent", now
        session.flush()
    else:
        session.info.setdefault(_QUEUED, set()).add(message.tenant_id)
    return message


def wants_email(session: Session, user_id: uuid.UUID) -> bool:
    """Whether the staff member chose e-mail besides in-app notifications."""
    return bool(session.scalar(select(Preference.email).where(Preference.user_id == user_id)))


def set_email(session: Session, user_id: uuid.UUID, email: bool) -> None:
    """Save a staff member's choice (in-app only, or in-app and e-mail); audited."""
    row = session.scalar(select(Preference).where(Preference.user_id == user_id))
    before = bool(row and row.email)
    if row is None:
        row = Preference(user_id=user_id)
        session.add(row)
    row.email, row.updated_at = email, utcnow()
    session.flush()
    if before != email:
        audit.record(session, "notification.preferences", "user", str(user_id),
                     {"email": [before, email]})  # fmt: skip


def notify_staff(
    session: Session,
    user_ids: Iterable[uuid.UUID],
    subject: str,
    body: str,
    *,
    key: str,
    channels: Mapping[str, Channel],
    keys: Keyring,
    record: tuple[str, str] | None = None,
    now: datetime | None = None,
) -> list[Message]:
    """Notify staff members in the app, and by e-mail those who chose it (when the tenant has
    an e-mail channel); keyed ``<key>:<user>:<channel>``."""
    from loandesk.flows.assignees import active

    sent = []
    for user_id in active(session, user_ids):
        wanted = ["in_app"]
        email = channels.get("email")
        if email is not None and email.reaches("staff") and wants_email(session, user_id):
            wanted.append("email")
        for channel in wanted:
            sent.append(
                notify(
                    session,
                    channel,
                    Recipient.staff(user_id),
                    body,
                    subject=subject,
                    key=f"{key}:{user_id}:{channel}"[:200],
                    channels=channels,
                    keys=keys,
                    record=record,
                    now=now,
                )
            )
    return sent


def _outgoing(message: Message, address: str, session: Session | None = None) -> OutgoingMessage:
    return OutgoingMessage(
        key=message.key,
        tenant_id=message.tenant_id,
        channel=message.channel,
        audience=message.audience,  # type: ignore[arg-type]
        address=address,
        subject=message.subject,
        body=message.body,
        locale=message.locale,
        urgent=message.urgent,
        record_type=message.record_type,
        record_id=message.record_id,
        user_id=message.user_id,
        session=session,
        template=sms_templates.use_of(message),
    )


def _claim(session: Session, message_id: uuid.UUID, now: datetime) -> bool:
    """Take a due message for this runner and count the attempt (committed), so that no other
    sends it too, a send that kills the runner still counts, and no write of ours is pending
    (on SQLite: the database locked) while the channel calls its provider."""
    taken = session.execute(
        update(Message)
        .where(Message.id == message_id, Message.state == "pending", Message.send_after <= now)
        .values(send_after=now + CLAIM, attempts=Message.attempts + 1)
    )
    session.commit()
    return bool(getattr(taken, "rowcount", 0) == 1)


def send_due(
    session: Session,
    channels: Mapping[str, Channel],
    keys: Keyring,
    now: datetime | None = None,
    limit: int = 200,
) -> int:
    """Send the tenant's due messages, each through its channel and committed on its own:
    the provider's id and ``sent_at`` on success; on failure the error, and another attempt
    after a backoff until ``MAX_ATTEMPTS`` (or at once for ``Undeliverable``), then ``failed``.
    Returns how many went."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(Message.id)
            .where(Message.state == "pending", Message.send_after <= now)
            .order_by(Message.send_after)
            .limit(limit)
        )
    )
    sent = 0
    connectors = _channel_connectors(session) if due else {}
    tally = Tally()  # the pass's outcomes per connector, recorded once at the end
    for message_id in due:
        if not _claim(session, message_id, now):
            continue
        message = session.get(Message, (keys.tenant_id, message_id))
        assert message is not None
        reached = False  # the provider was asked: its answer counts for or against its connector
        try:
            channel = channels.get(message.channel)
            if channel is None:
                raise LookupError(f"channel {message.channel!r} is not available")
            address = (
                keys.decrypt(
                    message.address_enc, record_type=RECORD, field="address", record_id=message.id
                )
                if message.address_enc
                else str(message.user_id)
            )
            limits.admit(session, message, channel, address, keys, now)
            reached = True
            provider_id = channel.send(
                _outgoing(message, address, session if channel.immediate else None)
            )
        except Exception as problem:
            log.warning("message %s not sent: %s", message.id, problem)
            message.last_error = f"{type(problem).__name__}: {problem}"[:2000]
            if message.attempts >= MAX_ATTEMPTS or isinstance(problem, Undeliverable):
                message.state = "failed"
            else:
                message.send_after = now + BACKOFF[min(message.attempts, len(BACKOFF)) - 1]
            outcome: Exception | None = problem
        else:
            message.state, message.sent_at = "sent", now
            message.provider_id, message.last_error = str(provider_id)[:200], ""
            sent += 1
            outcome = None
        channel_key = message.channel
        session.commit()
        key = connectors.get(channel_key)
        # not a message the daily limit held back, nor one without its channel; an
        # ``Undeliverable`` counts too: a refused recipient and refused credentials look alike
        if reached and key is not None:
            if outcome is None:
                tally.succeeded(key, f"sent through {channel_key}")
            else:
                tally.failed(key, f"{type(outcome).__name__}: {outcome}")
    tally.record()
    return sent


def _channel_connectors(session: Session) -> dict[str, str]:
    """The current tenant's connector key for each channel a connector gives."""
    from loandesk.connectors import service

    try:
        found = service.connectors(session)
    except Exception:  # no app or plugins (a bare test): nothing to record against
        log.debug("no connectors to record message outcomes against", exc_info=True)
        return {}
    return {channel: c.key for c in found for channel in c.channels}


def retry(
    session: Session, message: Message, *, timezone: str, now: datetime | None = None
) -> Message:
    """Put a failed message back in the outbox for another ``MAX_ATTEMPTS`` attempts, audited;
    one to a borrower that is not urgent waits out the quiet hours again. ``Conflict`` unless
    it failed."""
    if message.state != "failed":
        raise Conflict(N_("Only a failed message can be sent again."))
    now = now or utcnow()
    before = message.attempts
    message.state, message.attempts = "pending", 0
    message.send_after = _first_moment(session, message.audience, message.urgent, now, timezone)
    session.flush()
    audit.record(session, "notification.retry", "notification_message", str(message.id),
                 {"state": ["failed", "pending"], "attempts": [before, 0]})  # fmt: skip
    session.info.setdefault(_QUEUED, set()).add(message.tenant_id)
    return message


def install_send_trigger(session_factory: Any, enqueue: Any) -> None:
    """After a commit that queued messages, enqueue ``core.send_messages`` for the tenant."""
    from sqlalchemy import event as sa_event

    def after_commit(session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint released: the transaction goes on (its writes hold the lock)
        for tenant_id in session.info.pop(_QUEUED, set()):
            try:
                enqueue(tenant_id)
            except Exception:  # the every-minute schedule sends what was not enqueued
                log.exception("could not enqueue sending messages")

    sa_event.listen(session_factory, "after_commit", after_commit)
    sa_event.listen(
        session_factory, "after_soft_rollback", lambda s, t: t.nested or s.info.pop(_QUEUED, None)
    )
