"""Running rules. A domain event reaches ``on_event`` (the core's handler of every event,
after its commit): each enabled rule listening for it whose condition holds for the record
gets a firing row, unique per (rule, record, occurrence) — the event's id — so a redelivered
event fires nothing twice. After the commit, ``core.run_firings`` runs pending firings: it
claims one at a time, runs its actions in order and commits each action's effect together
with the firing's progress, so a retry (after an error, a restart, a second runner) continues
with the next action and never repeats one. A failing action is retried with backoff; after
``MAX_ATTEMPTS`` the firing is ``failed`` and shows in the rule's run log with its error until
someone retries it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.automations.models import AutomationRule, RuleFiring
from loandesk.automations.rules import ActionType
from loandesk.db import utcnow
from loandesk.events import Event
from loandesk.expressions import ExpressionError, compile_expression
from loandesk.fields.forms import Form, published_form
from loandesk.fields.registry import RecordType
from loandesk.fields.validation import current_values
from loandesk.tenancy.context import current_id

MAX_ATTEMPTS = 5
BACKOFF = (30, 120, 600, 1800)  # seconds before the 2nd, 3rd, ... attempt
CLAIM = timedelta(minutes=10)
_FIRED = "loandesk_rule_firings"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActionContext:
    """What an action runs with: the record (loaded in ``session``), its form and values,
    a key unique to this action of this firing (pass it to providers as the idempotency
    key of anything sent), and the time it runs at (the quiet hours of a message go by it)."""

    session: Session
    record_type: RecordType
    form: Form
    record: Any
    values: Mapping[str, Any]
    rule: AutomationRule
    firing: RuleFiring
    key: str
    now: datetime


def declared_form(session: Session, record_type: RecordType) -> Form:
    return published_form(session, record_type.with_fields(()))


def values_of(record: Any, form: Form) -> dict[str, Any]:
    return current_values(record, form, lambda spec: getattr(record, spec.source, None))


def load(session: Session, record_type: RecordType, record_id: str) -> Any:
    model: Any = record_type.model
    try:
        ident = uuid.UUID(record_id)
    except ValueError:
        return None
    return session.scalar(select(model).where(model.id == ident))


# ---------------------------------------------------------------- events → firings


def on_event(session: Session, event: Event, record_types: Mapping[str, RecordType]) -> int:
    """Record a firing for every enabled rule ``event`` triggers whose condition holds for
    the record; returns how many were new. ``record_types``: the tenant's enabled ones."""
    rules = list(
        session.scalars(
            select(AutomationRule).where(
                AutomationRule.enabled.is_(True),
                AutomationRule.trigger_key == f"event:{event.name}",
                AutomationRule.record_type == event.record_type,
            )
        )
    )
    declared = record_types.get(event.record_type)
    if not rules or declared is None:
        return 0
    form = declared_form(session, declared)
    record = load(session, declared, event.record_id)
    if record is None:
        return 0
    values = values_of(record, form)
    changed = event.payload.get("fields") or []
    fired = 0
    for rule in rules:
        if rule.trigger.get("field") and rule.trigger["field"] not in changed:
            continue  # the rule waits for a change of one field; this event is of others
        if rule.condition.strip():
            try:
                holds = compile_expression(rule.condition, form.expression_kinds).holds(values)
            except ExpressionError:  # a field it names was removed since: it cannot hold
                holds = False
            if not holds:
                continue
        fired += fire(session, rule, event.record_id, str(event.id))
    return fired


def fire(session: Session, rule: AutomationRule, record_id: str, occurrence: str) -> int:
    """A pending firing of ``rule`` for the record and occurrence, unless it exists (then 0)."""
    return insert_firings(session, [firing_row(rule, record_id, occurrence)])


def firing_row(rule: AutomationRule, record_id: str, occurrence: str) -> dict[str, Any]:
    """The values of a new pending firing (for ``insert_firings``)."""
    return {
        "tenant_id": current_id(),
        "id": _new_id(),
        "rule_id": rule.id,
        "rule_version": rule.version,
        "record_type": rule.record_type,
        "record_id": record_id,
        "occurrence": occurrence,
        "state": "pending",
        "next_action": 0,
        "attempts": 0,
        "last_error": "",
        "results": [],
        "created_at": utcnow(),
    }


def insert_firings(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert the firings that do not exist yet; how many were new. The run job is enqueued
    after the commit when any was."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # the rows as parameters of one cached statement (SQLAlchemy batches them into multi-row
    # INSERTs); RETURNING gives the rows actually inserted (rowcount is -1 for this on psycopg)
    statement = (
        insert(RuleFiring)
        .on_conflict_do_nothing(index_elements=["tenant_id", "rule_id", "record_id", "occurrence"])
        .returning(RuleFiring.id)
    )
    count = len(session.execute(statement, rows).all())
    if count:
        session.info.setdefault(_FIRED, set()).add(current_id())
    return count


def insert_all(session: Session, rows: Iterable[dict[str, Any]], chunk: int = 500) -> int:
    """``insert_firings`` for firings made as a query's records stream by, ``chunk`` at a
    time; how many were new."""
    fired = 0
    rows = iter(rows)
    while batch := list(islice(rows, chunk)):
        fired += insert_firings(session, batch)
    return fired


def _new_id() -> uuid.UUID:
    from loandesk.db import uuid7

    return uuid7()


def install_run_trigger(session_factory: Any, enqueue: Any) -> None:
    """After a commit that recorded firings, enqueue ``core.run_firings`` for the tenant."""
    from sqlalchemy import event as sa_event

    def after_commit(session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint released: the transaction goes on (its writes hold the lock)
        for tenant_id in session.info.pop(_FIRED, set()):
            try:
                enqueue(tenant_id)
            except Exception:  # the sweep runs what was not enqueued
                log.exception("could not enqueue rule firings")

    sa_event.listen(session_factory, "after_commit", after_commit)
    sa_event.listen(
        session_factory, "after_soft_rollback", lambda s, t: t.nested or s.info.pop(_FIRED, None)
    )


# ---------------------------------------------------------------- running firings


def due(session: Session, now: datetime, limit: int = 200) -> list[uuid.UUID]:
    return list(
        session.scalars(
            select(RuleFiring.id)
            .where(
                RuleFiring.state == "pending",
                or_(RuleFiring.next_attempt_at.is_(None), RuleFiring.next_attempt_at <= now),
                or_(RuleFiring.claimed_until.is_(None), RuleFiring.claimed_until <= now),
            )
            .order_by(RuleFiring.created_at, RuleFiring.id)
            .limit(limit)
        )
    )


def claim(session: Session, firing_id: uuid.UUID, now: datetime) -> bool:
    """Take the firing for this runner (committed); False when another has it or it is done."""
    claimed = session.execute(
        update(RuleFiring)
        .where(
            RuleFiring.tenant_id == current_id(),
            RuleFiring.id == firing_id,
            RuleFiring.state == "pending",
            or_(RuleFiring.claimed_until.is_(None), RuleFiring.claimed_until <= now),
        )
        .values(claimed_until=now + CLAIM)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(claimed, "rowcount", 0))


def run_pending(
    session: Session,
    record_types: Mapping[str, RecordType],
    actions: Mapping[str, ActionType],
    now: datetime | None = None,
) -> int:
    """Run the current tenant's pending firings that are due; returns how many finished."""
    finished = 0
    for firing_id in due(session, now or utcnow()):
        if claim(session, firing_id, now or utcnow()):
            finished += run(session, firing_id, record_types, actions, now=now)
    return finished


def run(
    session: Session,
    firing_id: uuid.UUID,
    record_types: Mapping[str, RecordType],
    actions: Mapping[str, ActionType],
    *,
    now: datetime | None = None,
) -> int:
    """Run a claimed firing's remaining actions; 1 when it is done."""
    firing = session.scalar(
        select(RuleFiring)
        .where(RuleFiring.id == firing_id)
        .execution_options(populate_existing=True)
    )
    if firing is None or firing.state != "pending":
        return 0
    rule = session.scalar(select(AutomationRule).where(AutomationRule.id == firing.rule_id))
    declared = record_types.get(firing.record_type)
    record = load(session, declared, firing.record_id) if declared else None
    if rule is None or declared is None or record is None:
        _give_up(session, firing, "the rule, its module or the record is gone", now)
        return 0
    form = declared_form(session, declared)
    steps = list(rule.actions)
    while firing.next_action < len(steps):
        index = firing.next_action
        params = dict(steps[index])
        kind = actions.get(str(params.pop("type", "")))
        try:
            if kind is None:
                raise LookupError(f"action {steps[index].get('type')!r} is not available")
            with session.begin_nested():
                context = ActionContext(
                    session,
                    declared,
                    form,
                    record,
                    values_of(record, form),
                    rule,
                    firing,
                    f"{firing.id}:{index}",
                    now or utcnow(),
                )
                result = dict(kind.run(context, params))
                firing.results = [*firing.results, {"action": index, **_plain(result)}]
                firing.next_action = index + 1
            session.commit()
        except Exception as problem:  # any action's failure: retried, then shown in the log
            session.rollback()
            _failed(session, firing_id, f"{type(problem).__name__}: {problem}", now)
            return 0
    firing.state = "done"
    firing.finished_at = now or utcnow()
    firing.claimed_until = None
    session.commit()
    return 1


def _failed(session: Session, firing_id: uuid.UUID, error: str, now: datetime | None) -> None:
    firing = session.scalar(select(RuleFiring).where(RuleFiring.id == firing_id))
    if firing is None:
        return
    firing.attempts += 1
    firing.last_error = error[:2000]
    firing.claimed_until = None
    if firing.attempts >= MAX_ATTEMPTS:
        _give_up(session, firing, error, now)
        return
    wait = BACKOFF[min(firing.attempts - 1, len(BACKOFF) - 1)]
    firing.next_attempt_at = (now or utcnow()) + timedelta(seconds=wait)
    session.commit()


def _give_up(session: Session, firing: RuleFiring, error: str, now: datetime | None) -> None:
    firing.state = "failed"
    firing.last_error = error[:2000]
    firing.finished_at = now or utcnow()
    firing.claimed_until = None
    audit.record(
        session,
        "automation.failed",
        firing.record_type,
        firing.record_id,
        {"rule": str(firing.rule_id), "firing": str(firing.id)},
    )
    session.commit()


def retry(session: Session, firing_id: uuid.UUID) -> RuleFiring:
    """Run a failed firing again from the action that failed (the run log's retry button)."""
    from loandesk.errors import Conflict, NotFound
    from loandesk.i18n import N_

    firing = session.scalar(select(RuleFiring).where(RuleFiring.id == firing_id))
    if firing is None:
        raise NotFound(N_("No such run."))
    if firing.state != "failed":
        raise Conflict(N_("Only a failed run can be retried."))
    firing.state = "pending"
    firing.attempts = 0
    firing.next_attempt_at = None
    firing.finished_at = None
    session.flush()
    audit.record(
        session,
        "automation.retry",
        firing.record_type,
        firing.record_id,
        {"rule": str(firing.rule_id), "firing": str(firing.id)},
    )
    session.info.setdefault(_FIRED, set()).add(current_id())
    return firing


def _plain(result: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: (v if isinstance(v, str | int | bool | type(None)) else str(v))
        for k, v in result.items()
    }
