"""The after-commit triggers (event delivery, rule firings, messages) enqueue once the
outermost transaction commits: a savepoint released or rolled back inside it neither
enqueues (on SQLite the enqueue's own transaction would wait on this one's write lock) nor
forgets what was emitted before it."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from loandesk import events
from loandesk.automations import engine as automations
from loandesk.notifications import service as notifications


def test_savepoints_do_not_fire_the_after_commit_triggers() -> None:
    factory = sessionmaker(create_engine("sqlite://"))
    enqueued: list[tuple[str, uuid.UUID]] = []
    events.install_delivery_trigger(factory, lambda t: enqueued.append(("events", t)))
    automations.install_run_trigger(factory, lambda t: enqueued.append(("firings", t)))
    notifications.install_send_trigger(factory, lambda t: enqueued.append(("messages", t)))
    tenant = uuid.uuid4()
    session = factory()
    session.execute(text("select 1"))
    session.info[events._EMITTED] = {tenant}
    session.info[automations._FIRED] = {tenant}
    session.info[notifications._QUEUED] = {tenant}
    with session.begin_nested():
        session.execute(text("select 1"))
    try:
        with session.begin_nested():
            raise ValueError("a refused posting inside the transaction")
    except ValueError:
        pass
    assert enqueued == []
    session.commit()
    assert sorted(enqueued) == [("events", tenant), ("firings", tenant), ("messages", tenant)]
