"""Schedule triggers: "every Monday at 09:00, for each application still waiting for
documents". A rule's cron (5 fields, tenant-local time) comes due; the records its saved
filter selects then (the same ``key:op:value`` filters lists and saved views use) each get a
firing keyed by the due time, so a record fires once per due time.

Claiming the due time and recording its firings are one transaction: the conditional
UPDATE of ``last_due_at`` lets one scheduler in, a second one (or a restarted job) finds the
time claimed, and a scheduler that dies before the commit leaves it unclaimed for the next
run. Like the platform's schedules, a due time missed while nothing ran is caught up once
(the latest only); a rule's first due time is the first one after it was saved.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from croniter import croniter
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from loandesk import pii
from loandesk.automations.engine import declared_form, firing_row, insert_all, values_of
from loandesk.automations.models import AutomationRule
from loandesk.db import utcnow
from loandesk.errors import ValidationFailed
from loandesk.expressions import ExpressionError, compile_expression
from loandesk.fields.forms import Form
from loandesk.fields.lists import ListState, RecordList, Resolved
from loandesk.fields.registry import RecordType
from loandesk.fields.values import Context
from loandesk.i18n import N_
from loandesk.jobs.schedules import latest_due
from loandesk.rbac.access import RecordAccess

CHUNK = 500
MIN_GAP = timedelta(minutes=15)  # the timed-rules job looks every 5 minutes
_SAMPLES = 60
SYSTEM = uuid.UUID(int=0)  # whose list the filter is resolved as: nobody's, every field


def cron_problem(cron: Any) -> str | None:
    """Why ``cron`` cannot be a rule's schedule, or None: five fields, valid, and never more
    often than every 15 minutes (checked over the next occurrences)."""
    if not isinstance(cron, str) or len(cron.split()) != 5 or not croniter.is_valid(cron):
        return N_("Write the schedule as a 5-field cron expression, such as 0 9 * * 1.")
    times = croniter(cron, datetime(2026, 1, 1))
    previous = times.get_next(datetime)
    for _ in range(_SAMPLES):
        following = times.get_next(datetime)
        if following - previous < MIN_GAP:
            return N_("A schedule runs at most every 15 minutes.")
        previous = following
    return None


def record_list(form: Form, timezone: str = "Asia/Shanghai") -> RecordList:
    """The list of ``form``'s records as the rules see it: every record, every field."""
    declared = form.record_type
    access = RecordAccess(
        declared, SYSTEM, "all", dict.fromkeys(declared.field_keys, "edit"), frozenset()
    )
    return RecordList(access, context=Context(timezone=timezone))


def resolve_filters(form: Form, filters: Sequence[str], timezone: str) -> Resolved:
    """The saved filter checked against ``form``: ``ValidationFailed`` with problems keyed
    ``filter.N`` as lists report them."""
    return record_list(form, timezone).resolve(ListState.of(filters=filters))


def first_due(cron: str, now: datetime, timezone: str) -> datetime:
    """What ``last_due_at`` starts at for a rule saved at ``now``: its latest past due time,
    so that the next one is the first to fire."""
    return latest_due(cron, now, timezone)


def run(
    session: Session,
    record_types: Mapping[str, RecordType],
    timezone: str,
    keys: pii.Keyring,
    now: datetime | None = None,
) -> int:
    """Record the firings of the current tenant's schedule rules due at ``now``; returns how
    many were new. Commits each rule's due time with its firings."""
    now = now or utcnow()
    rules = list(
        session.scalars(
            select(AutomationRule).where(
                AutomationRule.enabled.is_(True), AutomationRule.trigger_key == "schedule"
            )
        )
    )
    fired = 0
    for rule in rules:
        due = latest_due(rule.trigger["cron"], now, timezone)
        last = rule.last_due_at
        if last is not None and last >= due:
            continue
        claimed = session.execute(
            update(AutomationRule)
            .where(
                AutomationRule.id == rule.id,
                or_(AutomationRule.last_due_at.is_(None), AutomationRule.last_due_at < due),
            )
            .values(last_due_at=due)
            .execution_options(synchronize_session=False)
        )
        if not getattr(claimed, "rowcount", 0):
            session.rollback()  # another scheduler has this due time
            continue
        declared = record_types.get(rule.record_type)
        if last is not None and declared is not None:
            fired += _fire(session, declared, rule, due, timezone, keys)
        session.commit()
    return fired


def _fire(
    session: Session,
    declared: RecordType,
    rule: AutomationRule,
    due: datetime,
    timezone: str,
    keys: pii.Keyring,
) -> int:
    form = declared_form(session, declared)
    try:
        resolved = resolve_filters(form, rule.trigger.get("filters") or [], timezone)
        condition = (
            compile_expression(rule.condition, form.expression_kinds)
            if rule.condition.strip()
            else None
        )
    except (ValidationFailed, ExpressionError):  # a field it names was removed since
        return 0
    model: Any = form.record_type.model
    dialect = session.get_bind().dialect.name
    statement = resolved.where(select(model), dialect, keys)
    if declared.in_force is not None:  # rows kept as history never fire
        statement = statement.where(declared.in_force(model))
    occurrence = due.isoformat()
    records = session.scalars(statement.order_by(model.id).execution_options(yield_per=CHUNK))
    return insert_all(
        session,
        (
            firing_row(rule, str(record.id), occurrence)
            for record in records
            if condition is None or condition.holds(values_of(record, form))
        ),
        CHUNK,
    )
