"""Acceptance (issue 6, point 5): two approvers of an or-sign node deciding at the same
instant produce exactly one decision; the other gets a clear "already decided" answer."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from loandesk.errors import Conflict
from tests.platform.flows.conftest import Desk, approver


def _or_sign(desk: Desk) -> None:
    desk.publish([approver("credit", [desk.user("a"), desk.user("b")], mode="any")])


def _decide(desk: Desk, who: str, instance: uuid.UUID, start: threading.Barrier) -> Any:
    from loandesk.flows import actions

    try:
        with desk.session() as session:
            start.wait()
            actions.approve(session, instance, actions.Actor(desk.user(who)))
        return "approved"
    except Conflict as answer:
        return answer


def _record(
    results: dict[str, Any], desk: Desk, who: str, instance: uuid.UUID, start: threading.Barrier
) -> None:
    results[who] = _decide(desk, who, instance, start)


def _decisions(desk: Desk, instance: uuid.UUID) -> int:
    from loandesk.flows.models import FlowTask

    with desk.session() as session:
        return int(
            session.scalar(
                select(func.count(FlowTask.id)).where(
                    FlowTask.instance_id == instance, FlowTask.state == "approved"
                )
            )
            or 0
        )


def test_two_approvers_at_the_same_instant_make_one_decision(desk: Desk) -> None:
    _or_sign(desk)
    for _round in range(8):
        application, instance = desk.submit("30000")
        start = threading.Barrier(2)
        results: dict[str, Any] = {}
        threads = [
            threading.Thread(target=_record, args=(results, desk, who, instance, start))
            for who in ("a", "b")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        outcomes = sorted(results.values(), key=lambda r: isinstance(r, Conflict))
        assert outcomes[0] == "approved", results
        assert isinstance(outcomes[1], Conflict), results
        assert outcomes[1].message in (
            "This approval is already decided.",
            "This approval step was already decided.",
        )
        assert _decisions(desk, instance) == 1
        assert desk.status(application) == "approved"
        assert desk.timeline(instance).count("approved") == 1


def test_the_second_approver_waits_for_the_first_and_is_told(
    desk: Desk, request: Any, database_urls: Any
) -> None:
    """PostgreSQL, made deterministic: B's approve is seen waiting on A's row lock before A
    commits."""
    if request.config.getoption("--db") != "postgresql":
        pytest.skip("PostgreSQL only: row locks are observable in pg_stat_activity")
    from loandesk.flows import actions

    _or_sign(desk)
    application, instance = desk.submit("30000")
    a_decided, commit_a = threading.Event(), threading.Event()
    answer: dict[str, Any] = {}

    def first() -> None:
        with desk.session() as session:
            actions.approve(session, instance, actions.Actor(desk.user("a")))
            a_decided.set()
            commit_a.wait(timeout=60)

    def second() -> None:
        a_decided.wait(timeout=60)
        try:
            with desk.session() as session:
                actions.approve(session, instance, actions.Actor(desk.user("b")))
            answer["b"] = "approved"
        except Conflict as problem:
            answer["b"] = problem

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    # a superuser sees every session's wait events (the owner role sees only its own)
    owner = create_engine(database_urls.admin_url)
    try:
        waiting = 0
        for _poll in range(600):
            with owner.connect() as connection:
                waiting = connection.scalar(
                    text(
                        "select count(*) from pg_stat_activity "
                        "where wait_event_type = 'Lock' and datname = current_database()"
                    )
                )
            if waiting:
                break
            threading.Event().wait(0.05)
        assert waiting == 1  # B is blocked on A's lock
    finally:
        owner.dispose()
        commit_a.set()
        for thread in threads:
            thread.join()
    assert isinstance(answer["b"], Conflict)
    assert answer["b"].message == "This approval is already decided."
    assert _decisions(desk, instance) == 1
    assert desk.status(application) == "approved"
