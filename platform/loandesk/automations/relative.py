"""Time-relative triggers: "three days before an installment's due date, at 09:00". Once a
tenant-local day has reached a rule's time, the records whose date field falls on the right
day (today + 3 for "-3") are looked up and each gets a firing keyed by that date — a record
fires once per date, and again if its date moves. Rules that look at the same field, day
offset and time are answered by one query; each condition among them is then decided once per
record (plain comparisons without the expression engine: ``automations.comparisons``).
A rule is looked at once a day (``checked_on``); a record whose date is set to the right day
after that is not picked up that day. Only records the record type declares ``in_force`` are
looked at (an installment an early repayment superseded is not).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loandesk.automations.comparisons import Decide, decider
from loandesk.automations.engine import declared_form, firing_row, insert_all, values_of
from loandesk.automations.models import AutomationRule
from loandesk.db import utcnow
from loandesk.expressions import ExpressionError, compile_expression
from loandesk.fields.forms import Form
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
    conditions: dict[str, _Conditions] = {}
    for (record_type, field, days, _at), group in groups.items():
        declared = record_types.get(record_type)
        if declared is not None:
            if record_type not in conditions:
                conditions[record_type] = _Conditions(declared_form(session, declared))
            day = today - timedelta(days=days)
            fired += _fire_group(
                session, declared, conditions[record_type], field, day, group, timezone
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
    conditions: _Conditions,
    field: str,
    day: date,
    rules: list[AutomationRule],
    timezone: str,
) -> int:
    form = conditions.form
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
    sharing: dict[str, list[AutomationRule]] = defaultdict(list)
    for rule in rules:
        sharing[rule.condition.strip()].append(rule)
    always = sharing.pop("", [])
    checks = [
        (decide, sharing[text])
        for text in sharing
        if (decide := conditions.decider(text)) is not None
    ]
    occurrence = day.isoformat()

    def firings() -> Iterator[dict[str, Any]]:
        statement = select(model).where(where)
        if declared.in_force is not None:
            statement = statement.where(declared.in_force(model))
        statement = statement.execution_options(yield_per=CHUNK)
        for record in session.scalars(statement):
            holding = list(always)
            if checks:
                values = values_of(record, form)
                for decide, alike in checks:
                    if decide(values):
                        holding.extend(alike)
            yield from (firing_row(rule, str(record.id), occurrence) for rule in holding)

    return insert_all(session, firings(), CHUNK)


class _Conditions:
    """A record type's form and its rules' conditions, each compiled once per run (rules
    often share one)."""

    def __init__(self, form: Form) -> None:
        self.form = form
        self.decided: dict[str, Decide | None] = {}

    def decider(self, text: str) -> Decide | None:
        """What decides condition ``text``; None when it names a field removed since, so it
        cannot hold."""
        if text not in self.decided:
            kinds = self.form.expression_kinds
            try:
                self.decided[text] = decider(compile_expression(text, kinds), kinds)
            except ExpressionError:
                self.decided[text] = None
        return self.decided[text]
