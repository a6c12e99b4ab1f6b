"""Subscriptions (checked, audited) and deliveries: made for each committed event a
subscription wants, sent by ``send_due`` with backoff, resent by hand."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.automations import outbound, signing
from loandesk.automations.webhook import USER_AGENT
from loandesk.connectors import status as connector_status
from loandesk.db import utcnow, uuid7
from loandesk.errors import Conflict, NotFound, ValidationFailed
from loandesk.events import ANY, Event
from loandesk.fields.validation import message
from loandesk.i18n import N_
from loandesk.pii.keys import Keyring
from loandesk.tenancy.context import current_id
from loandesk.webhooks.models import WebhookDelivery, WebhookSubscription

log = logging.getLogger(__name__)

# before the 2nd, 3rd, ... attempt; a delivery fails after the last
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
DISABLE_AFTER = 10  # failed deliveries in a row
CLAIM = timedelta(minutes=2)  # how long a runner holds a delivery it is sending
PING = "webhook.ping"
_QUEUED = "loandesk_webhooks_queued"


# --- subscriptions -------------------------------------------------------------------------


def _checked(data: Mapping[str, Any], event_types: Collection[str]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    url = str(data.get("url") or "").strip()
    if problem := outbound.url_problem(url, outbound.Policy.of_app()):
        errors["url"] = [message(problem)]
    wanted = list(dict.fromkeys(data.get("events") or []))
    if not wanted:
        errors["events"] = [message(N_("Choose at least one event, or * for all."))]
    unknown = [e for e in wanted if e != ANY and e not in event_types]
    if unknown:
        errors["events"] = [message(N_("No such event: %(name)s."), name=unknown[0])]
    description = str(data.get("description") or "").strip()
    if len(description) > 200:
        errors["description"] = [message(N_("Use at most 200 characters."))]
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    return {"url": url, "events": [ANY] if ANY in wanted else wanted, "description": description}


def _audited(row: WebhookSubscription) -> dict[str, Any]:
    return {"url": row.url, "events": list(row.events), "description": row.description,
            "active": row.active}  # fmt: skip


def create(
    session: Session,
    data: Mapping[str, Any],
    event_types: Collection[str],
    *,
    user_id: uuid.UUID | None,
) -> WebhookSubscription:
    """Subscribe a URL to events (audited ``webhook.create``)."""
    row = WebhookSubscription(**_checked(data, event_types), created_by_id=user_id,
                              consecutive_failures=0, active=True)  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(session, "webhook.create", "webhook_subscription", row.id, _audited(row))
    return row


def update_subscription(
    session: Session,
    row: WebhookSubscription,
    data: Mapping[str, Any],
    event_types: Collection[str],
) -> WebhookSubscription:
    """Change URL, events or description (audited ``webhook.update``, the fields changed)."""
    before = _audited(row)
    for key, value in _checked(data, event_types).items():
        setattr(row, key, value)
    row.updated_at = utcnow()
    session.flush()
    after = _audited(row)
    diff = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if diff:
        audit.record(session, "webhook.update", "webhook_subscription", row.id, diff)
    return row


def set_active(session: Session, row: WebhookSubscription, active: bool) -> WebhookSubscription:
    """Re-enable (failures forgotten, pending deliveries sent again) or disable by hand."""
    if row.active == active:
        return row
    row.active, row.updated_at = active, utcnow()
    if active:
        row.consecutive_failures, row.disabled_at, row.disabled_reason = 0, None, ""
        session.info.setdefault(_QUEUED, set()).add(row.tenant_id)
    else:
        row.disabled_at, row.disabled_reason = utcnow(), "disabled by an admin"
    session.flush()
    action = "webhook.enable" if active else "webhook.disable"
    audit.record(session, action, "webhook_subscription", row.id, {"active": [not active, active]})
    return row


def delete(session: Session, row: WebhookSubscription) -> None:
    audit.record(session, "webhook.delete", "webhook_subscription", row.id, _audited(row))
    session.delete(row)
    session.flush()


def get(session: Session, subscription_id: uuid.UUID) -> WebhookSubscription:
    row = session.scalar(
        select(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
    )
    if row is None:
        raise NotFound(N_("No such webhook."))
    return row


def list_subscriptions(
    session: Session, page: int = 1, per_page: int = 20
) -> tuple[list[WebhookSubscription], int]:
    total = session.scalar(select(func.count()).select_from(WebhookSubscription)) or 0
    rows = session.scalars(
        select(WebhookSubscription)
        .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), total


def list_deliveries(
    session: Session, row: WebhookSubscription, page: int = 1, per_page: int = 20
) -> tuple[list[WebhookDelivery], int]:
    where = WebhookDelivery.subscription_id == row.id
    total = session.scalar(select(func.count()).select_from(WebhookDelivery).where(where)) or 0
    rows = session.scalars(
        select(WebhookDelivery)
        .where(where)
        .order_by(WebhookDelivery.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), total


def get_delivery(session: Session, delivery_id: uuid.UUID) -> WebhookDelivery:
    row = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id))
    if row is None:
        raise NotFound(N_("No such delivery."))
    return row


# --- deliveries ----------------------------------------------------------------------------


def body_of(event_id: uuid.UUID | None, name: str, record_type: str, record_id: str,
            payload: Mapping[str, Any], created_at: datetime) -> str:  # fmt: skip
    """The JSON a receiver gets: the event as emitted (its payload holds no personal data)."""
    from loandesk.tenancy import current

    tenant = current()
    data = {
        "id": str(event_id) if event_id else None,
        "type": name,
        "created_at": created_at.isoformat(),
        "tenant": {"id": str(tenant.id), "slug": tenant.slug},
        "record_type": record_type,
        "record_id": record_id,
        "data": dict(payload),
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def on_event(session: Session, event: Event) -> int:
    """A pending delivery for each active subscription that wants ``event`` and was made
    before it (once per event and subscription however often it is delivered); returns how
    many were made."""
    made = 0
    subscriptions = session.scalars(
        select(WebhookSubscription).where(WebhookSubscription.active.is_(True))
    )
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for row in subscriptions:
        if not row.wants(event.name) or event.created_at < row.created_at:
            continue
        body = body_of(event.id, event.name, event.record_type, event.record_id,
                       event.payload, event.created_at)  # fmt: skip
        now = utcnow()
        result = session.execute(
            insert(WebhookDelivery)
            .values(tenant_id=current_id(), id=uuid7(), subscription_id=row.id,
                    event_id=event.id, event_type=event.name, body=body, state="pending",
                    sequence=1, attempt=0, attempts=[], error="", next_attempt_at=now,
                    created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["tenant_id", "subscription_id", "event_id"])
        )  # fmt: skip
        made += getattr(result, "rowcount", 0) or 0
    if made:
        session.info.setdefault(_QUEUED, set()).add(current_id())
    return made


def ping(session: Session, row: WebhookSubscription) -> WebhookDelivery:
    """A test delivery (event ``webhook.ping``) to ``row``, sent like any other."""
    now = utcnow()
    delivery = WebhookDelivery(
        subscription_id=row.id, event_id=None, event_type=PING,
        body=body_of(None, PING, "webhook_subscription", str(row.id), {}, now),
        state="pending", sequence=1, attempt=0, attempts=[], error="", next_attempt_at=now,
    )  # fmt: skip
    session.add(delivery)
    session.flush()
    session.info.setdefault(_QUEUED, set()).add(row.tenant_id)
    return delivery


def resend(session: Session, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again: a new sequence of attempts (audited ``webhook.resend``)."""
    if delivery.state == "pending":
        raise Conflict(N_("This delivery is still being sent."))
    before = delivery.state
    delivery.state, delivery.sequence, delivery.attempt = "pending", delivery.sequence + 1, 0
    delivery.next_attempt_at, delivery.updated_at = utcnow(), utcnow()
    session.flush()
    audit.record(session, "webhook.resend", "webhook_delivery", delivery.id,
                 {"state": [before, "pending"], "sequence": delivery.sequence})  # fmt: skip
    session.info.setdefault(_QUEUED, set()).add(delivery.tenant_id)
    return delivery


def _claim(session: Session, delivery_id: uuid.UUID, now: datetime) -> bool:
    """Take a due delivery for this runner (committed), so that no other runner sends it and
    no write is pending while the receiver is awaited."""
    taken = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.state == "pending",
               WebhookDelivery.next_attempt_at <= now)
        .values(next_attempt_at=now + CLAIM, attempt=WebhookDelivery.attempt + 1)
    )  # fmt: skip
    session.commit()
    return bool(getattr(taken, "rowcount", 0) == 1)


def _post(url: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {"status": None, "response": "", "error": ""}
    try:
        answer = outbound.post(url, body, headers, outbound.Policy.of_app())
    except outbound.DeliveryFailed as problem:
        result["error"] = str(problem)[:500]
    else:
        result["status"], result["response"] = answer.status, answer.excerpt
        if not 200 <= answer.status < 300:
            result["error"] = f"HTTP {answer.status}"
    result["duration_ms"] = int((time.monotonic() - started) * 1000)
    return result


def send_due(session: Session, keys: Keyring, now: datetime | None = None, limit: int = 200) -> int:
    """Send the tenant's due deliveries of active subscriptions, each committed on its own;
    returns how many succeeded. ``now`` is the scheduling clock (tests move it); the
    signature's timestamp is always the real time."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(WebhookDelivery.id)
            .join(WebhookSubscription, (WebhookSubscription.tenant_id == WebhookDelivery.tenant_id)
                  & (WebhookSubscription.id == WebhookDelivery.subscription_id))
            .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now,
                   WebhookSubscription.active.is_(True))
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
    )  # fmt: skip
    succeeded = 0
    tally = connector_status.Tally()  # the pass's outcomes, recorded once at the end
    for delivery_id in due:
        if not _claim(session, delivery_id, now):
            continue
        delivery = session.get(
            WebhookDelivery, (keys.tenant_id, delivery_id), populate_existing=True
        )
        assert delivery is not None
        subscription = session.get(
            WebhookSubscription, (keys.tenant_id, delivery.subscription_id), populate_existing=True
        )
        assert subscription is not None
        if not subscription.active:  # disabled by an earlier delivery of this pass: not sent
            delivery.attempt, delivery.next_attempt_at = delivery.attempt - 1, now
            session.commit()
            continue
        secret = signing.current(session, keys).value
        session.commit()
        body = delivery.body.encode()
        headers = _headers(secret, delivery.event_type, str(delivery.id), body)
        result = _post(subscription.url, body, headers)
        attempt = {"sequence": delivery.sequence, "number": delivery.attempt,
                   "at": now.isoformat(), "url": subscription.url, "request_headers": headers,
                   **result}  # fmt: skip
        delivery.attempts = [*delivery.attempts, attempt]
        delivery.response_status, delivery.error = result["status"], result["error"]
        delivery.updated_at = utcnow()
        if not result["error"]:
            delivery.state, delivery.next_attempt_at = "succeeded", None
            subscription.consecutive_failures, subscription.last_success_at = 0, now
            succeeded += 1
        else:
            subscription.last_error = result["error"][:500]
            if delivery.attempt >= MAX_ATTEMPTS:
                delivery.state, delivery.next_attempt_at = "failed", None
                subscription.consecutive_failures += 1
                if subscription.consecutive_failures >= DISABLE_AFTER and subscription.active:
                    _disable(session, subscription, now)
            else:
                delivery.next_attempt_at = now + BACKOFF[delivery.attempt - 1]
        session.commit()
        if result["error"]:
            tally.failed(connector_status.WEBHOOKS, result["error"])
        else:
            tally.succeeded(connector_status.WEBHOOKS, f"HTTP {result['status']}")
    tally.record()
    return succeeded


def _headers(secret: str, event_type: str, key: str, body: bytes) -> dict[str, str]:
    stamp = str(int(utcnow().timestamp()))
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-LoanDesk-Event": event_type,
        "X-LoanDesk-Timestamp": stamp,
        "X-LoanDesk-Signature": signing.signature(secret, stamp, body),
        "Idempotency-Key": key,
    }


def ping_now(session: Session, keys: Keyring) -> str:
    """The connectors page's test: a signed ``webhook.ping`` posted now to each active
    subscription (no delivery kept); what they answered, or ``DeliveryFailed`` naming the
    first that did not answer 2xx."""
    rows = list(
        session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.active.is_(True))
            .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
        )
    )
    if not rows:
        raise outbound.DeliveryFailed("no active webhook")
    secret = signing.current(session, keys).value
    for row in rows:
        body = body_of(None, PING, "webhook_subscription", str(row.id), {}, utcnow()).encode()
        result = _post(row.url, body, _headers(secret, PING, f"ping:{uuid7()}", body))
        if result["error"]:
            raise outbound.DeliveryFailed(f"{row.url}: {result['error']}")
    return f"{len(rows)} receiver(s) answered 2xx"


def _disable(session: Session, row: WebhookSubscription, now: datetime) -> None:
    """Disable a subscription whose deliveries keep failing, audited, with a to-do for the
    tenant's admins."""
    from loandesk.rbac.catalog import ADMIN_ROLE
    from loandesk.todos import service as todos

    row.active, row.disabled_at, row.updated_at = False, now, utcnow()
    row.disabled_reason = (
        f"{row.consecutive_failures} deliveries in a row failed: {row.last_error}"[:500]
    )
    session.flush()
    audit.record(session, "webhook.disable", "webhook_subscription", row.id,
                 {"active": [True, False], "reason": row.disabled_reason})  # fmt: skip
    todos.create(
        session,
        f"Webhook disabled / 事件推送已停用: {row.url}"[:200],
        assignee_role=ADMIN_ROLE,
        note=row.disabled_reason,
        source="webhook",
        source_key=f"webhook-disabled:{row.id}:{now.isoformat()}"[:200],
    )
    log.warning("webhook subscription %s disabled after %s failures", row.id,
                row.consecutive_failures)  # fmt: skip


def install_send_trigger(session_factory: Any, enqueue: Any) -> None:
    """After a commit that made deliveries, enqueue ``core.send_webhooks`` for the tenant."""
    from sqlalchemy import event as sa_event

    def after_commit(session: Session) -> None:
        if session.in_nested_transaction():
            return
        for tenant_id in session.info.pop(_QUEUED, set()):
            try:
                enqueue(tenant_id)
            except Exception:  # the every-minute schedule sends what was not enqueued
                log.exception("could not enqueue sending webhooks")

    sa_event.listen(session_factory, "after_commit", after_commit)
    sa_event.listen(
        session_factory, "after_soft_rollback", lambda s, t: t.nested or s.info.pop(_QUEUED, None)
    )
