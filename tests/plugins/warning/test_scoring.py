"""The daily scoring job writes the watch list with the model's score and reasons beside the
rules', and its events drive automation rules (here the core's to-do; an extra SMS or the
collections plugin's ``collections.assign`` work the same way)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select, update

from loandesk import sdk
from loandesk.events import OutboxEvent
from tests.plugins.warning.conftest import Warn
from tests.plugins.warning.test_training import seeded_book


def train_seeded(warn: Warn, as_of: dt.date) -> tuple[Any, str]:
    """A model trained as of ``as_of`` on a seeded book (see test_training), and the loan
    whose summary the seeded loans copy."""
    from loandesk_warning import settings, training

    loan_id = warn.book(100)
    with warn.session() as session:
        template = sdk.loan_book().get(session, uuid.UUID(loan_id))
        assert template is not None
        book = seeded_book(template, as_of=as_of)
        model = training.train(session, as_of=as_of, histories=book, settings=settings.current())
        session.expunge(model)
    return model, loan_id


def test_the_job_scores_with_the_model_and_explains_the_score(warn: Warn) -> None:
    today = warn.today()
    model, untouched = train_seeded(warn, today)
    late = warn.book(100)  # its first installment paid three weeks late, nothing since
    first = warn.installments(late)[0]
    warn.pay(late, first.outstanding, first.due_date + dt.timedelta(days=21))
    on_time = warn.book(100)
    for line in warn.installments(on_time)[:3]:
        warn.pay(on_time, line.outstanding, line.due_date)
    warn.settings(first_payment_rule=False, medium_score=1, high_score=90)
    warn.run("warning.score")

    entries = {e["loan_id"]: e for e in warn.entries()}
    assert late in entries and on_time in entries
    assert entries[late]["model_version"] == model.version
    assert entries[late]["model_score"] > entries[on_time]["model_score"]
    for entry in entries.values():
        assert entry["score"] == entry["model_score"]  # no rule hit: the model's score
        codes = [r["code"] for r in entry["reasons"]]
        assert codes and all(c.startswith("model.") for c in codes)
    late_reasons = [r["en"] for r in entries[late]["reasons"]]
    assert any("days past due" in r or "late" in r for r in late_reasons), late_reasons
    assert untouched in entries  # never paid: the model sees it too


def test_flagged_loans_drive_an_automation_rule(warn: Warn) -> None:
    from loandesk.todos.models import Todo

    with warn.session() as session:
        sdk.save_automation_rule(session, {
            "name": "高风险预警：早期催收",
            "record_type": "warning",
            "trigger": {"kind": "event", "event": "warning.flagged"},
            "condition": 'level == "high"',
            "actions": [{"type": "create_todo", "title": "早期催收：{{ loan_number }}",
                         "assignee": {"kind": "role", "role": "collector"}}],
            "enabled": True,
        })  # fmt: skip
    loan = warn.book(25)
    warn.run("warning.score")  # first payment default risk alone: medium
    warn.deliver()
    with warn.session() as session:
        assert session.scalars(select(Todo)).all() == []

    warn.settings(rule_points=60)  # the same hit now counts for a high level
    warn.run("warning.score")
    warn.deliver()
    entry = warn.entry(loan)
    assert entry is not None and entry["level"] == "high"
    with warn.session() as session:
        [todo] = session.scalars(select(Todo)).all()
        assert (todo.record_type, todo.record_id) == ("warning", entry["id"])
        assert todo.title == f"早期催收：{entry['loan_number']}"
    warn.run("warning.score")
    warn.deliver()  # still high: no new event, no second to-do
    with warn.session() as session:
        assert len(session.scalars(select(Todo)).all()) == 1


def test_a_settled_loan_leaves_the_watch_list(warn: Warn) -> None:
    loan = warn.book(25)
    warn.run("warning.score")
    assert warn.entry(loan) is not None
    total = sum(line.outstanding for line in warn.installments(loan))
    warn.pay(loan, total)  # paid off in full: settled
    warn.deliver()  # the payment reaches early warning: off the list at once
    assert warn.entry(loan) is None
    assert len(warn.events("warning.cleared")) == 1

    second = warn.book(25)
    warn.run("warning.score")
    warn.pay(second, sum(line.outstanding for line in warn.installments(second)))
    with warn.session() as session:  # paid off while early warning was not listening
        session.execute(update(OutboxEvent).values(delivered_at=sdk.utcnow()))
    assert warn.entry(second) is not None
    warn.run("warning.score")  # the daily run clears loans that are no longer active
    assert warn.entry(second) is None
    assert len(warn.events("warning.cleared")) == 2
