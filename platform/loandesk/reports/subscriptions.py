"""Report subscriptions (报表订阅): a saved report e-mailed to chosen staff on a schedule — "every
Monday at 08:00, the overdue rate by region to the branch heads".

A subscription's cron (5 fields, tenant-local time, never more often than every 15 minutes)
is checked like a schedule rule's (``automations.scheduled.cron_problem``). When it comes due,
the ``core.report_subscriptions`` job runs the report AS EACH RECIPIENT, under their own data
scope and field permissions, and puts one message to them in the notification outbox on the
e-mail channel (in the app when the tenant has none): the report's name as the subject, the
first rows as a text table and a link to the report — or to its CSV / Excel download, since
the channel contract carries no attachments. Numbers leave the system by e-mail, so a
recipient needs what an export needs (``reports.export`` and an export grant for each field
the report reads); one who may no longer run or export the report gets a message saying so,
never anyone else's numbers.

Exactly once per due time: the job claims a due time with a conditional UPDATE of
``last_due_at`` (a second worker, or the job run again, finds it claimed), and each send is a
``ReportDelivery`` row unique per subscription, due time and recipient, written in the same
transaction as its message (whose outbox key is unique too). A due time missed while nothing
ran is caught up once (the latest only); the first due time is the first after saving.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from flask import current_app, g
from flask_babel import force_locale, gettext
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    Uuid,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from loandesk import audit
from loandesk.audit import Actor, actor_context
from loandesk.automations.scheduled import cron_problem, first_due
from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow
from loandesk.errors import DomainError, Forbidden, NotFound, ValidationFailed
from loandesk.fields.validation import message
from loandesk.i18n import N_, normalise_locale
from loandesk.jobs.schedules import latest_due
from loandesk.reports import export, saved
from loandesk.reports.models import Report
from loandesk.tenancy.paths import page_url

FORMATS = ("inline", "csv", "xlsx")
MAX_RECIPIENTS = 50
PREVIEW_ROWS = 10
PROBLEMS = N_("Some subscription settings need attention.")


class ReportSubscription(TenantOwned, Base):
    """Report ``report_id`` sent to ``recipients`` (staff user ids, as text) whenever ``cron``
    comes due; ``format``: ``inline`` (a table in the message) or a link to its ``csv`` or
    ``xlsx`` download. ``last_due_at`` is the latest due time claimed (sent)."""

    __tablename__ = "report_subscriptions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "report_id"], ["reports.tenant_id", "reports.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "created_by_id"], ["users.tenant_id", "users.id"]),
        CheckConstraint("format in ('inline', 'csv', 'xlsx')", name="format"),
        Index("ix_report_subscriptions_report", "tenant_id", "report_id"),
    )

    report_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    cron: Mapped[str] = mapped_column(String(100))
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    format: Mapped[str] = mapped_column(String(10), default="inline")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    last_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ReportDelivery(TenantOwned, Base):
    """One send of a subscription to one recipient for one due time: ``outcome`` is ``sent``
    (their numbers) or ``refused`` (they may no longer run or export the report: told so);
    ``message_id`` is the outbox message."""

    __tablename__ = "report_deliveries"
    __table_args__ = (
        # named: the generated names pass PostgreSQL's 63 characters
        UniqueConstraint(
            "tenant_id",
            "subscription_id",
            "due_at",
            "recipient_id",
            name="uq_report_deliveries_once",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "subscription_id"],
            ["report_subscriptions.tenant_id", "report_subscriptions.id"],
            name="fk_report_deliveries_subscription",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(["tenant_id", "recipient_id"], ["users.tenant_id", "users.id"]),
        CheckConstraint("outcome in ('sent', 'refused')", name="outcome"),
    )

    subscription_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recipient_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    outcome: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(40))
    rows: Mapped[int | None] = mapped_column()
    message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- managing subscriptions ------------------------------------------------------------------


def may_manage(user: Any, report: Report) -> None:
    """Only the report's owner, or who holds ``reports.manage``, manages its subscriptions."""
    if not saved.can_change(user, report):
        raise Forbidden(
            N_("Only the report's owner, or who holds %(permission)s, may change it."),
            params={"permission": saved.MANAGE},
        )


def list_for(session: Session, report: Report) -> list[ReportSubscription]:
    return list(
        session.scalars(
            select(ReportSubscription)
            .where(ReportSubscription.report_id == report.id)
            .order_by(ReportSubscription.created_at, ReportSubscription.id)
        )
    )


def get(session: Session, report: Report, subscription_id: uuid.UUID) -> ReportSubscription:
    row = session.scalar(
        select(ReportSubscription).where(
            ReportSubscription.id == subscription_id, ReportSubscription.report_id == report.id
        )
    )
    if row is None:
        raise NotFound(N_("No such subscription."))
    return row


def create(
    session: Session,
    user: Any,
    report: Report,
    data: Mapping[str, Any],
    *,
    timezone: str,
    now: datetime | None = None,
) -> ReportSubscription:
    """A subscription to ``report`` (its owner or a manager of reports); audited. Its first
    due time is the first after now."""
    may_manage(user, report)
    values = _checked(session, data)
    row = ReportSubscription(report_id=report.id, created_by_id=user.id, **values)
    row.last_due_at = first_due(row.cron, now or utcnow(), timezone)
    session.add(row)
    session.flush()
    audit.record(session, "report.subscription.create", "report", report.id, _audited(row))
    return row


def update_subscription(
    session: Session,
    user: Any,
    report: Report,
    row: ReportSubscription,
    data: Mapping[str, Any],
    *,
    timezone: str,
    now: datetime | None = None,
) -> ReportSubscription:
    """Replace a subscription; a new cron, or enabling it again, starts from now (nothing
    missed meanwhile is sent). Audited."""
    may_manage(user, report)
    values = _checked(session, data)
    before = _audited(row)
    restart = values["cron"] != row.cron or (values["enabled"] and not row.enabled)
    for key, value in values.items():
        setattr(row, key, value)
    if restart:
        row.last_due_at = first_due(row.cron, now or utcnow(), timezone)
    session.flush()
    changes = audit.changes(before, _audited(row))
    audit.record(session, "report.subscription.update", "report", report.id, changes)
    return row


def delete(session: Session, user: Any, report: Report, row: ReportSubscription) -> None:
    may_manage(user, report)
    audit.record(session, "report.subscription.delete", "report", report.id, _audited(row))
    session.delete(row)
    session.flush()


def next_due(row: ReportSubscription, timezone: str, now: datetime | None = None) -> datetime:
    """When the subscription comes due next (UTC)."""
    local = (now or utcnow()).astimezone(ZoneInfo(timezone))
    due: datetime = croniter(row.cron, local).get_next(datetime)
    return due.astimezone(ZoneInfo("UTC"))


def _checked(session: Session, data: Mapping[str, Any]) -> dict[str, Any]:
    """The subscription's columns from ``data``; 422 naming each problem's field."""
    from loandesk.auth.models import User

    errors: dict[str, list[str]] = {}
    cron = str(data.get("cron") or "").strip()
    problem = cron_problem(cron)
    if problem:
        errors["cron"] = [message(problem)]
    wanted: list[uuid.UUID] = list(dict.fromkeys(data.get("recipients") or ()))
    if not wanted:
        errors["recipients"] = [message(N_("Choose at least one staff member."))]
    elif len(wanted) > MAX_RECIPIENTS:
        errors["recipients"] = [message(N_("At most %(count)s recipients."), count=MAX_RECIPIENTS)]
    else:
        found = set(
            session.scalars(select(User.id).where(User.id.in_(wanted), User.status == "active"))
        )
        unknown = [str(i) for i in wanted if i not in found]
        if unknown:
            errors["recipients"] = [
                message(N_("No active staff member %(id)s."), id=", ".join(unknown))
            ]
    fmt = data.get("format") or "inline"
    if fmt not in FORMATS:
        errors["format"] = [message(N_("One of %(choices)s."), choices=", ".join(FORMATS))]
    if errors:
        raise ValidationFailed(PROBLEMS, errors=errors)
    return {
        "cron": cron,
        "recipients": [str(i) for i in wanted],
        "format": fmt,
        "enabled": bool(data.get("enabled", True)),
    }


def _audited(row: ReportSubscription) -> dict[str, Any]:
    return {
        "subscription": str(row.id),
        "cron": row.cron,
        "recipients": list(row.recipients),
        "format": row.format,
        "enabled": row.enabled,
    }


# --- sending (the core.report_subscriptions job) ----------------------------------------------


def run(
    session: Session,
    tenant: Any,
    channels: Mapping[str, Any],
    keys: Any,
    now: datetime | None = None,
) -> int:
    """Send the current tenant's subscriptions due at ``now``, each due time once; returns
    how many deliveries were new. Commits each subscription's due time with its messages."""
    now = now or utcnow()
    subscriptions = list(
        session.scalars(select(ReportSubscription).where(ReportSubscription.enabled.is_(True)))
    )
    sent = 0
    for subscription in subscriptions:
        due = latest_due(subscription.cron, now, tenant.timezone)
        if subscription.last_due_at is not None and subscription.last_due_at >= due:
            continue
        claimed = session.execute(
            update(ReportSubscription)
            .where(
                ReportSubscription.id == subscription.id,
                or_(
                    ReportSubscription.last_due_at.is_(None),
                    ReportSubscription.last_due_at < due,
                ),
            )
            .values(last_due_at=due, last_sent_at=now)
            .execution_options(synchronize_session=False)
        )
        if not getattr(claimed, "rowcount", 0):
            session.rollback()  # another worker has this due time
            continue
        report = session.scalar(select(Report).where(Report.id == subscription.report_id))
        if report is not None:
            sent += _send(session, subscription, report, due, tenant, channels, keys, now)
        session.commit()
    return sent


def _send(
    session: Session,
    subscription: ReportSubscription,
    report: Report,
    due: datetime,
    tenant: Any,
    channels: Mapping[str, Any],
    keys: Any,
    now: datetime,
) -> int:
    from loandesk.auth.models import User
    from loandesk.notifications import service as notifications

    email = channels.get("email")
    channel = "email" if email is not None and email.reaches("staff") else "in_app"
    ids = [uuid.UUID(i) for i in subscription.recipients]
    users = session.scalars(select(User).where(User.id.in_(ids), User.status == "active"))
    count = 0
    for user in sorted(users, key=lambda u: str(u.id)):
        locale = normalise_locale(user.locale) or normalise_locale(tenant.locale) or "zh_CN"
        with acting_as(user, locale):
            outcome, body, rows = _compose(session, user, subscription, report, tenant, locale)
            delivery = ReportDelivery(
                subscription_id=subscription.id,
                due_at=due,
                recipient_id=user.id,
                outcome=outcome,
                channel=channel,
                rows=rows,
            )
            try:
                with session.begin_nested():
                    session.add(delivery)
                    session.flush()
            except IntegrityError:  # sent already for this due time
                continue
            sent = notifications.notify(
                session,
                channel,
                notifications.Recipient.staff(user.id),
                body,
                subject=report.name,
                key=f"report:{subscription.id}:{due.isoformat()}:{user.id}",
                channels=channels,
                keys=keys,
                record=("report", str(report.id)),
                locale=locale,
                timezone=tenant.timezone,
                now=now,
            )
            delivery.message_id = sent.id
            if outcome == "sent":
                export.record(session, f"email:{subscription.format}", rows or 0, report=report)
            count += 1
    return count


def _compose(
    session: Session,
    user: Any,
    subscription: ReportSubscription,
    report: Report,
    tenant: Any,
    locale: str,
) -> tuple[str, str, int | None]:
    """The recipient's message: (outcome, body, rows). Their numbers, or why there are none."""
    link = _link(tenant, report, subscription.format)
    try:
        if not saved.can_see(user, report):
            raise Forbidden(N_("No such report."))
        table = export.checked_table(session, user, report, locale)
    except DomainError:
        text = gettext(
            "You may no longer run or export the report %(name)s, so it was not sent to you. "
            "Ask its owner, or an administrator, to change the subscription or your access.",
            name=report.name,
        )
        return "refused", text, None
    shown = export.text_table(table, PREVIEW_ROWS)
    more = len(table.rows) - PREVIEW_ROWS
    lines = [report.name, "", shown]
    if more > 0:
        lines.append(gettext("… and %(count)s more rows.", count=more))
    if subscription.format == "inline":
        lines += ["", gettext("See the report: %(link)s", link=link)]
    else:
        lines += ["", gettext("Download it: %(link)s", link=link)]
    return "sent", "\n".join(lines), len(table.rows)


def _link(tenant: Any, report: Report, fmt: str) -> str:
    page = page_url(tenant.slug, f"/reports/{report.id}")
    return f"{page}/export.{fmt}" if fmt in export.FORMATS else page


@contextmanager
def acting_as(user: Any, locale: str) -> Iterator[None]:
    """Act for ``user`` outside a request, as an import job does: their grants (``g.user``,
    read by ``acting_user``), their language, the audit log naming them."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # The request context shares the job's app context, and so ``g``: the previous
    # recipient's access must not stay cached in it.
    with app.test_request_context(), force_locale(locale):
        kept = {key: g.pop(key) for key in ("user", "loandesk_record_access") if key in g}
        g.user = user
        actor = Actor(kind="user", id=str(user.id), label=f"{user.email} (report subscription)")
        try:
            with actor_context(actor):
                yield
        finally:
            g.pop("user", None)
            g.pop("loandesk_record_access", None)
            for key, value in kept.items():
                setattr(g, key, value)
