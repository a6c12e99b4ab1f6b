"""Rule sets: editing the draft, publishing versions, and deciding at submission. No Flask
here: the API, the submission hook, jobs and tests call the same functions.

What rules may name (``inputs``) is the record's form, its fields and their kinds as field
conditions see them, and the variables other plugins give (``loandesk_risk_variable_kinds``:
the credit plugin's ``bureau_*`` and ``own_*``, this plugin's ``history_*``). The decision
stores every input it used and every value it could have read (``context``), so a stored
decision stays explainable whichever source a value came from, and a back-test can run a
draft over it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    Form,
    NotFound,
    ValidationFailed,
    audit_changes,
    audit_record,
    risk_variable_kinds,
    risk_variables,
    utcnow,
)
from loandesk_risk import policy
from loandesk_risk.models import Decision, RuleSet, RuleSetVersion

# What the risk plugin gives the flow; never an input of its own rules.
OUTCOME_FIELD = "risk_outcome"
GIVEN = (OUTCOME_FIELD, "risk_grade", "risk_score")
_CACHE_SIZE = 256
_compiled: dict[tuple[uuid.UUID, frozenset[tuple[str, str]]], policy.Policy] = {}


def inputs(form: Form) -> dict[str, str]:
    """What rules and scorecards may name: the form's fields by kind, less the ones this
    plugin fills in, and the variables of the tenant's enabled plugins (a field wins over a
    variable of the same name)."""
    own = {k: v for k, v in form.expression_kinds.items() if k not in GIVEN}
    return {**risk_variable_kinds(form.record_type), **own}


def rule_set(session: Session, record_type: str) -> RuleSet | None:
    return session.scalar(select(RuleSet).where(RuleSet.record_type == record_type))


def draft(session: Session, record_type: str) -> dict[str, Any]:
    """The draft definition (an empty one before the first save)."""
    found = rule_set(session, record_type)
    return dict(found.draft) if found else policy.empty()


def _refused(problems: Mapping[str, list[Any]]) -> ValidationFailed:
    return ValidationFailed(N_("Some fields need attention."), errors=problems)


def save_draft(
    session: Session, form: Form, definition: Mapping[str, Any], *, user_id: uuid.UUID
) -> RuleSet:
    """Replace the draft of ``form``'s record type by ``definition`` (422 naming each
    problem's place: ``rules.3.expression``)."""
    problems = policy.check(definition, inputs(form))
    if problems:
        raise _refused(problems)
    clean = {"rules": definition.get("rules") or [], "scorecard": definition.get("scorecard")}
    found = rule_set(session, form.record_type.key)
    before = dict(found.draft) if found else policy.empty()
    if found is None:
        found = RuleSet(record_type=form.record_type.key, draft=clean, published=0)
        session.add(found)
    found.draft = clean
    found.updated_by_id = user_id
    session.flush()
    diff = audit_changes(before, clean)
    if diff:
        audit_record(session, "risk.rule_set.save", "risk_rule_set", found.id, diff)
    return found


def publish(session: Session, form: Form, *, user_id: uuid.UUID, note: str = "") -> RuleSetVersion:
    """Freeze the draft as the next version: applications submitted from now on are decided
    by it. The draft is checked again against today's form (a field may have gone)."""
    found = rule_set(session, form.record_type.key)
    if found is None:
        raise NotFound(N_("There is no rule set to publish yet."))
    problems = policy.check(found.draft, inputs(form))
    if problems:
        raise _refused(problems)
    found.published += 1
    version = RuleSetVersion(
        rule_set_id=found.id,
        number=found.published,
        definition=dict(found.draft),
        note=note,
        published_at=utcnow(),
        published_by_id=user_id,
    )
    session.add(version)
    session.flush()
    audit_record(
        session,
        "risk.rule_set.publish",
        "risk_rule_set",
        found.id,
        {"version": [None, version.number], "note": [None, note]},
    )
    return version


def versions(session: Session, record_type: str) -> list[RuleSetVersion]:
    """Published versions, newest first."""
    found = rule_set(session, record_type)
    if found is None:
        return []
    return list(
        session.scalars(
            select(RuleSetVersion)
            .where(RuleSetVersion.rule_set_id == found.id)
            .order_by(RuleSetVersion.number.desc())
        )
    )


def version(session: Session, record_type: str, number: int) -> RuleSetVersion:
    for candidate in versions(session, record_type):
        if candidate.number == number:
            return candidate
    raise NotFound(N_("There is no such version."))


def compiled(version: RuleSetVersion, kinds: Mapping[str, str]) -> policy.Policy:
    """``version`` compiled over ``kinds``, once per process (a version never changes)."""
    key = (version.id, frozenset(kinds.items()))
    found = _compiled.get(key)
    if found is None:
        if len(_compiled) >= _CACHE_SIZE:
            _compiled.clear()
        found = _compiled[key] = policy.compile_policy(version.definition, kinds)
    return found


def decide(session: Session, form: Form, record: Any, values: Mapping[str, Any]) -> Decision | None:
    """Run the latest published version over ``record``'s ``values`` and store the decision
    (None: nothing published, nothing decided)."""
    record_type = form.record_type.key
    latest = next(iter(versions(session, record_type)), None)
    if latest is None:
        return None
    seen = {**risk_variables(session, form.record_type, record), **values}
    seen = {k: v for k, v in seen.items() if k not in GIVEN}
    outcome = compiled(latest, inputs(form)).decide(seen)
    earlier = next(iter(decisions_of(session, record_type, record.id)), None)
    decision = Decision(
        record_type=record_type,
        record_id=record.id,
        version_id=latest.id,
        version_number=latest.number,
        outcome=outcome.decision,
        inputs=outcome.inputs,
        hits=outcome.hits,
        scores=outcome.scores,
        total_score=outcome.total,
        grade=outcome.grade,
        suggested_limit=outcome.limit,
        suggested_rate=outcome.rate,
        decided_at=utcnow(),
        context={k: policy.plain(v) for k, v in sorted(seen.items())},
    )
    if earlier is not None and earlier.review_requested_at is not None:
        # the borrower asked for a person: every later decision on the record refers too
        decision.review_requested_at = earlier.review_requested_at
        decision.review_requested_by_id = earlier.review_requested_by_id
        decision.review_channel = earlier.review_channel
        decision.review_note = earlier.review_note
    session.add(decision)
    session.flush()
    audit_record(
        session,
        "risk.decide",
        record_type,
        record.id,
        {"risk_outcome": [None, outcome.decision], "version": [None, latest.number]},
    )
    return decision


def given_values(decision: Decision) -> dict[str, Any]:
    """What the flow's conditions see of a decision: ``refer`` once the borrower asked for
    a person to decide, whatever the rules said."""
    return {
        OUTCOME_FIELD: "refer" if decision.review_requested_at else decision.outcome,
        "risk_grade": decision.grade,
        "risk_score": decision.total_score,
    }


def decisions_of(session: Session, record_type: str, record_id: uuid.UUID) -> list[Decision]:
    """The decisions made on a record, newest first (one per submission)."""
    return list(
        session.scalars(
            select(Decision)
            .where(Decision.record_type == record_type, Decision.record_id == record_id)
            .order_by(Decision.decided_at.desc(), Decision.id.desc())
        )
    )


def recent_decisions(
    session: Session,
    access: Any,
    *,
    outcome: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[tuple[Decision, str]], int]:
    """Decisions on the records ``access`` reaches (a ``RecordAccess`` of their record type),
    newest first, with each record's number; and how many there are."""
    model: Any = access.record_type.model
    statement = access.where(
        select(Decision, model.number).join(model, model.id == Decision.record_id)
    ).where(Decision.record_type == access.record_type.key)
    if outcome:
        statement = statement.where(Decision.outcome == outcome)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.execute(
        statement.order_by(Decision.decided_at.desc(), Decision.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return [(decision, str(number)) for decision, number in rows], total
