"""Time-relative triggers: "three days before an installment's due date, at 09:00". Once a
tenant-local day has reached a rule's time, the records whose date field falls on the right
day (today + 3 for "-3") are looked up and each gets a firing keyed by that date — a record
fires once per date, and again if its date moves. Rules that look at the same field, day
offset and time are answered by one query; each rule's condition is then decided per record.
A rule is looked at once a day (``checked_on``); a record whose date is set to the right day
after that is not picked up that day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loandesk.automations.engine import declared_form, firing_row, insert_firings, values_of
from loandesk.automations.models import AutomationRule
from loandesk.db import utcnow
from loandesk.expressions import ExpressionError, compile_expression
from loandesk.fields.registry import RecordType
from loandesk.fields.search import value_expression

CHUNK = 500


def run(
    session: Session,
    record_types: Mapping[str, RecordType],
    timezone: str,
    now: datetime | None = None,
) -> int:
    """Record the firings of the current tenant's relative rules due at ``now``; returns how
    many were new. Commits."""
    local = (now or utcnow()).astimezone(ZoneInfo(timezone))
    today = local.date()
    rules = list(
        session.scalars(
            select(AutomationRule).where(
                AutomationRule.enabled.is_(True),
                AutomationRule.trigger_key.like("relative:%"),
                (AutomationRule.checked_on.is_(None)) | (AutomationRule.checked_on < today),
            )
        )
    )
    groups: dict[tuple[str, str, int, str], list[AutomationRule]] = defaultdict(list)
    for rule in rules:
        trigger = rule.trigger
        if local.time() >= time.fromisoformat(trigger["at"]):
            groups[(rule.record_type, trigger["field"], trigger["days"], trigger["at"])].append(
                rule
            )
    fired = 0
    for (record_type, field, days, _at), group in groups.items():
        declared = record_types.get(record_type)
        if declared is not None:
            fired += _fire_group(
                session, declared, field, today - timedelta(days=days), group, timezone
            )
        session.execute(
            update(AutomationRule)
            .where(AutomationRule.id.in_([r.id for r in group]))
            .values(checked_on=today)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return fired


def _fire_group(
    session: Session,
    declared: RecordType,
    field: str,
    day: date,
    rules: list[AutomationRule],
    timezone: str,
) -> int:
    form = declared_form(session, declared)
    if form.expression_kinds.get(field) not in ("date", "datetime"):
        return 0  # the field is gone from the form: nothing can fall due
    spec = form.field(field)
    model: Any = declared.model
    dialect = session.get_bind().dialect.name
    column: Any = (
        value_expression(model, spec, dialect) if spec.custom else getattr(model, spec.source)
    )
    if spec.value_kind == "date":
        where = column == (day.isoformat() if spec.custom else day)
    else:  # a date-time: the tenant-local day as a UTC range
        zone = ZoneInfo(timezone)
        start = datetime.combine(day, time(), zone)
        end = start + timedelta(days=1)
        if spec.custom:  # stored as UTC ISO text (loandesk.fields.values.to_json)
            utc = ZoneInfo("UTC")
            where = (column >= start.astimezone(utc).isoformat()) & (
                column < end.astimezone(utc).isoformat()
            )
        else:
            where = (column >= start) & (column < end)
    conditions = []
    for rule in rules:
        try:
            compiled = (
                compile_expression(rule.condition, form.expression_kinds)
                if rule.condition.strip()
                else None
            )
        except ExpressionError:  # a field it names was removed: it cannot hold
            continue
        conditions.append((rule, compiled))
    occurrence = day.isoformat()
    rows: list[dict[str, Any]] = []
    fired = 0
    for record in session.scalars(select(model).where(where).execution_options(yield_per=CHUNK)):
        values = values_of(record, form) if any(c for _r, c in conditions) else {}
        for rule, compiled in conditions:
            if compiled is None or compiled.holds(values):
                rows.append(firing_row(rule, str(record.id), occurrence))
        if len(rows) >= CHUNK:
            fired += insert_firings(session, rows)
            rows = []
    if rows:
        fired += insert_firings(session, rows)
    return fired
