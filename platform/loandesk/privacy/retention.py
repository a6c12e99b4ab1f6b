"""Retention periods (保存期限) per record type, and the run that anonymises what is due.

A tenant sets, for each ``RetentionSubject`` its enabled modules declare, how many days after
the clock starts its records keep their personal data (no shorter than the subject's legal
minimum), or keeps them forever. A record type without a period is kept: anonymising cannot
be undone, so it happens only once an admin has chosen a period.

``run`` anonymises, per record type, the records whose clock started before the tenant's local
midnight ``days`` days ago, in batches of one transaction each, with one audit event per
record naming the fields it cleared (never their values). The daily job
(``core.apply_retention``) and ``loandesk retention run`` call it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.db import utcnow
from loandesk.errors import ValidationFailed
from loandesk.i18n import N_
from loandesk.pii.retention import MAXIMUM_DAYS, RetentionSubject
from loandesk.privacy.models import RetentionPeriod

if TYPE_CHECKING:
    from loandesk.plugins.host import PluginHost

UNSET = "unset"  # in audit diffs: no period chosen yet
FOREVER = "forever"


def subjects(host: PluginHost, enabled: Iterable[str]) -> list[RetentionSubject]:
    """The core's retention subjects and those of the ``enabled`` plugins, in that order."""
    from loandesk.privacy.requests import RETENTION_SUBJECT

    found = [RETENTION_SUBJECT]
    for name in sorted(enabled):
        contribution = host.contributions.get(name)
        if contribution is not None:
            found.extend(contribution.retention_subjects)
    return found


@dataclass(frozen=True)
class Period:
    """A subject with the tenant's choice: ``is_set`` False means none was made yet."""

    subject: RetentionSubject
    is_set: bool
    days: int | None  # None: kept forever (or not set)
    last_run_at: datetime | None
    last_run_anonymised: int

    @property
    def shortest(self) -> int:
        return shortest_days(self.subject)


def shortest_days(subject: RetentionSubject) -> int:
    """The shortest period a tenant may set: the legal minimum, and at least one day."""
    return max(1, subject.minimum_days)


def periods(session: Session, available: list[RetentionSubject]) -> list[Period]:
    rows = {r.record_type: r for r in session.scalars(select(RetentionPeriod))}
    result = []
    for subject in available:
        row = rows.get(subject.key)
        result.append(
            Period(
                subject=subject,
                is_set=row is not None,
                days=row.days if row else None,
                last_run_at=row.last_run_at if row else None,
                last_run_anonymised=row.last_run_anonymised if row else 0,
            )
        )
    return result


def set_periods(
    session: Session, available: list[RetentionSubject], chosen: Mapping[str, int | None]
) -> list[Period]:
    """Set the periods in ``chosen`` (record type → days, or None to keep forever); the others
    stay as they are. Every problem is reported at once, and then nothing changes."""
    by_key = {s.key: s for s in available}
    errors: dict[str, list[str]] = {}
    for key, days in chosen.items():
        subject = by_key.get(key)
        if subject is None:
            errors[key] = [N_("Unknown record type, or its module is not enabled.")]
        elif days is not None and days < shortest_days(subject):
            errors[key] = [N_("Shorter than the minimum this record type must be kept.")]
        elif days is not None and days > MAXIMUM_DAYS:
            errors[key] = [N_("Use at most 36500 days (100 years), or keep forever.")]
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    rows = {r.record_type: r for r in session.scalars(select(RetentionPeriod))}
    diff: dict[str, Any] = {}
    for key, days in chosen.items():
        row = rows.get(key)
        before = _shown(row.days) if row else UNSET
        if row is None:
            row = RetentionPeriod(record_type=key, days=days)
            session.add(row)
        elif row.days != days:
            row.days, row.updated_at = days, utcnow()
        if before != _shown(days):
            diff[key] = [before, _shown(days)]
    session.flush()
    if diff:
        audit.record(session, "retention.update", "retention", None, diff)
    return periods(session, available)


def _shown(days: int | None) -> int | str:
    return FOREVER if days is None else days


# --- the run ---------------------------------------------------------------------------------


@dataclass
class SubjectRun:
    record_type: str
    days: int
    cutoff: datetime
    due: int = 0  # due when the run started
    anonymised: int = 0


def cutoff_for(days: int, timezone: str, now: datetime) -> datetime:
    """Records whose clock started before this (UTC) are due: the tenant's local midnight
    ``days`` days before today, so a record is kept ``days`` whole local days."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    return datetime.combine(today - timedelta(days=days), time(), zone).astimezone(UTC)


def run(
    session: Session,
    available: list[RetentionSubject],
    *,
    timezone: str,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = 200,
    progress: Callable[[int, int], None] | None = None,
) -> list[SubjectRun]:
    """Anonymise the current tenant's records that are due, committing ``session`` after each
    batch (a run that stops half-way keeps what it did; the next run goes on). With
    ``dry_run`` only count them, and change nothing."""
    now = now or utcnow()
    rows = {r.record_type: r for r in session.scalars(select(RetentionPeriod))}
    plans: list[tuple[RetentionSubject, SubjectRun]] = []
    for subject in available:
        row = rows.get(subject.key)
        if row is None or row.days is None:
            continue
        plan = SubjectRun(subject.key, row.days, cutoff_for(row.days, timezone, now))
        query = subject.due(plan.cutoff)
        plan.due = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        plans.append((subject, plan))
    if dry_run:
        return [plan for _subject, plan in plans]
    total = sum(plan.due for _subject, plan in plans)
    done = 0
    for subject, plan in plans:
        seen: set[object] = set()
        while True:
            ids = list(session.scalars(subject.due(plan.cutoff).limit(batch_size)))
            if not ids:
                break
            for record_id in ids:
                if record_id in seen:  # a broken anonymise would otherwise loop forever
                    raise RuntimeError(f"{subject.key} {record_id} is still due once anonymised")
                seen.add(record_id)
                cleared = subject.anonymise(session, record_id, now)
                audit.record(
                    session,
                    "retention.anonymise",
                    subject.key,
                    record_id,
                    {"cleared": sorted(cleared), "days": plan.days},
                )
            plan.anonymised += len(ids)
            session.commit()
            done += len(ids)
            if progress is not None:
                progress(min(done, total), max(total, done))
        row = session.scalar(
            select(RetentionPeriod).where(RetentionPeriod.record_type == subject.key)
        )
        if row is not None:
            row.last_run_at, row.last_run_anonymised = now, plan.anonymised
        session.commit()
    return [plan for _subject, plan in plans]
