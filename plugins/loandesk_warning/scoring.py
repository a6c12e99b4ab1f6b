"""Scoring loans and keeping the watch list (预警名单): per chunk of active loans, the rules'
hits and the active model's score make a score (model score + points per hit, at most 100)
and a level; a loan reaching the medium level is flagged (``warning.flagged``, again when it
rises to high), one that falls below it is cleared (``warning.cleared``). Each chunk writes its
entries in a few statements and one audit record."""

from __future__ import annotations

import datetime as dt
import types
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_warning import features as feats
from loandesk_warning import rules
from loandesk_warning.models import WarningModel, WatchEntry
from loandesk_warning.scoring_model import Parameters
from loandesk_warning.training import signals_of

CHUNK = 500
TOP_FEATURES = 3


@dataclass
class Outcome:
    scored: int = 0
    flagged: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Assessment:
    score: int
    level: str | None
    model_score: int | None
    reasons: list[dict[str, str]]
    days_past_due: int


def level_of(score: int, settings: Mapping[str, Any]) -> str | None:
    if score >= settings["high_score"]:
        return "high"
    if score >= settings["medium_score"]:
        return "medium"
    return None


def model_reasons(parameters: Parameters, values: Mapping[str, float]) -> list[dict[str, str]]:
    """The features that pushed the score up most, strongest first."""
    pushing = sorted(
        ((name, term) for name, term in parameters.contributions(values) if term > 0),
        key=lambda pair: -pair[1],
    )[:TOP_FEATURES]
    found = []
    for name, _ in pushing:
        zh, en = feats.LABELS[name]
        shown = f"{values[name]:.2f}".rstrip("0").rstrip(".")
        found.append(
            {
                "code": f"model.{name}",
                "zh": f"模型：{zh} {shown}",
                "en": f"Model: {en.lower()} {shown}",
            }
        )
    return found


def assess(
    history: sdk.LoanHistory,
    today: dt.date,
    *,
    signals: Sequence[feats.SignalDate],
    bureau: Mapping[str, Any],
    parameters: Parameters | None,
    settings: Mapping[str, Any],
) -> Assessment:
    """Where one loan stands today: the rules' hits, the model's score (with the features
    that raised it), the score and level they make."""
    ledger = feats.Ledger(history)
    model_score: int | None = None
    explained: list[dict[str, str]] = []
    if parameters is not None:
        values = feats.features(history, today, signals)
        model_score = parameters.score(values)
        explained = model_reasons(parameters, values)
    facts = rules.Facts(history, ledger, today, signals, bureau, model_score)
    found = rules.hits(facts, settings)
    score = min(100, (model_score or 0) + settings["rule_points"] * len(found))
    level = level_of(score, settings)
    return Assessment(
        score=score,
        level=level,
        model_score=model_score,
        reasons=found + (explained if level else []),
        days_past_due=ledger.days_past_due(today),
    )


def _bureau(session: Session, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict]:
    """The credit plugin's risk variables per borrower (bureau enquiries among them), read
    the way a risk rule on an application reads them; none when no plugin gives any."""
    try:
        record_type = sdk.record_type("application")
    except sdk.NotFound:
        return {}
    return {
        customer_id: sdk.risk_variables(
            session, record_type, types.SimpleNamespace(customer_id=customer_id)
        )
        for customer_id in set(customer_ids)
    }


def _copy_loan(entry: WatchEntry, loan: sdk.LoanSummary) -> None:
    entry.loan_number, entry.customer_id = loan.number, loan.customer_id
    entry.product_code = loan.product_terms.code
    entry.owner_id, entry.org_unit_id = loan.owner_id, loan.org_unit_id


def score_chunk(
    session: Session,
    histories: Sequence[sdk.LoanHistory],
    *,
    today: dt.date,
    model: WarningModel | None,
    settings: Mapping[str, Any],
    outcome: Outcome,
) -> None:
    """Score ``histories`` and write their watch-list entries, in the caller's transaction."""
    if not histories:
        return
    ids = [h.loan.id for h in histories]
    signals = signals_of(session, ids)
    bureau = (
        _bureau(session, (h.loan.customer_id for h in histories))
        if settings["enquiries_rule"]
        else {}
    )
    parameters = Parameters.of(model.features, model.parameters) if model is not None else None
    entries = {
        e.loan_id: e for e in session.scalars(select(WatchEntry).where(WatchEntry.loan_id.in_(ids)))
    }
    now = sdk.utcnow()
    changed: list[tuple[str, WatchEntry, dict[str, Any]]] = []
    for history in histories:
        loan = history.loan
        found = assess(
            history, today, signals=signals.get(loan.id, []),
            bureau=bureau.get(loan.customer_id, {}), parameters=parameters, settings=settings,
        )  # fmt: skip
        outcome.scored += 1
        entry = entries.get(loan.id)
        if found.level is None:
            if entry is not None and entry.status == "flagged":
                entry.status, entry.cleared_at = "cleared", now
                entry.score, entry.model_score = found.score, found.model_score
                entry.last_scored_at = now
                changed.append(("warning.cleared", entry, {"loan_id": str(loan.id)}))
            continue
        event = None
        if entry is None:
            entry = WatchEntry(loan_id=loan.id, status="cleared", level=found.level)
            session.add(entry)
        if entry.status != "flagged":
            entry.status, entry.first_flagged_at, entry.cleared_at = "flagged", now, None
            event = {"escalated": False}
        elif entry.level == "medium" and found.level == "high":
            event = {"escalated": True}
        _copy_loan(entry, loan)
        entry.level, entry.score, entry.model_score = found.level, found.score, found.model_score
        entry.model_version = model.version if model is not None else None
        entry.reasons = found.reasons
        entry.reason_text = "；".join(r["zh"] for r in found.reasons)[:500]
        entry.days_past_due = found.days_past_due
        entry.last_scored_at = now
        if event is not None:
            payload = {"loan_id": str(loan.id), "level": found.level, "score": found.score}
            changed.append(("warning.flagged", entry, {**payload, **event}))
    session.flush()
    for name, entry, payload in changed:
        sdk.emit(session, name, "warning", entry.id, payload)
        done = outcome.flagged if name == "warning.flagged" else outcome.cleared
        done.append(str(payload["loan_id"]))
    if changed:
        sdk.audit_record(
            session, "warning.watchlist", "warning", None,
            {
                "flagged": [p["loan_id"] for n, _, p in changed if n == "warning.flagged"],
                "cleared": [p["loan_id"] for n, _, p in changed if n == "warning.cleared"],
            },
        )  # fmt: skip


def clear_inactive(session: Session, seen: set[uuid.UUID], outcome: Outcome) -> None:
    """Clear flagged entries of loans the run did not score (settled or gone since)."""
    flagged = session.scalars(select(WatchEntry).where(WatchEntry.status == "flagged"))
    _clear(session, [e for e in flagged if e.loan_id not in seen], outcome)


def _clear(session: Session, gone: Sequence[WatchEntry], outcome: Outcome) -> None:
    now = sdk.utcnow()
    for entry in gone:
        entry.status, entry.cleared_at = "cleared", now
        sdk.emit(session, "warning.cleared", "warning", entry.id, {"loan_id": str(entry.loan_id)})
        outcome.cleared.append(str(entry.loan_id))
    if gone:
        sdk.audit_record(
            session, "warning.watchlist", "warning", None,
            {"flagged": [], "cleared": [str(e.loan_id) for e in gone]},
        )  # fmt: skip


def rescore(session: Session, loan_ids: Sequence[uuid.UUID], today: dt.date) -> Outcome:
    """Score these loans now (after a signal), in the caller's transaction; those no longer
    active (paid off) leave the watch list."""
    from loandesk_warning import settings as warning_settings
    from loandesk_warning.training import active_model

    outcome = Outcome()
    histories = sdk.loan_book().histories(session, loan_ids=list(loan_ids), limit=len(loan_ids))
    score_chunk(
        session, histories, today=today, model=active_model(session),
        settings=warning_settings.current(), outcome=outcome,
    )  # fmt: skip
    active = {h.loan.id for h in histories}
    settled = session.scalars(
        select(WatchEntry).where(
            WatchEntry.status == "flagged", WatchEntry.loan_id.in_(list(loan_ids))
        )
    )
    _clear(session, [e for e in settled if e.loan_id not in active], outcome)
    return outcome
