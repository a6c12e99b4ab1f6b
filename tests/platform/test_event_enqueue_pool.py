"""Events are enqueued for delivery only after the committing transaction has given its
connection back. In the embedded mode the job is written to the same SQLite database through
the same connection pool: a burst of requests that each held their connection while asking
for a second one would exhaust the pool and hang until its timeout."""

from __future__ import annotations

import threading
import uuid

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from loandesk import events
from tests.conftest import TenantFixture
from tests.helpers import tenant_session


def test_a_burst_of_committing_requests_does_not_exhaust_the_pool(
    app: Flask, tenant_a: TenantFixture, caplog: pytest.LogCaptureFixture
) -> None:
    engine = app.extensions["loandesk"].db.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("the embedded backend writes jobs to the database only on SQLite")
    # every connection the pool can give out (SQLAlchemy's default: 5 + an overflow of 10)
    capacity = engine.pool.size() + 10
    together = threading.Barrier(capacity, timeout=20)
    failures: list[BaseException] = []
    with tenant_session(app, tenant_a.slug) as session:
        before = session.scalar(select(func.count()).select_from(events.OutboxEvent))

    def request_() -> None:
        try:
            with tenant_session(app, tenant_a.slug) as session:
                session.execute(text("SELECT 1"))  # each request holds a connection
                together.wait()  # all of them at once; then each writes and commits in turn
                events.emit(session, "customer.updated", "customer", uuid.uuid4(), {})
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=request_) for _ in range(capacity)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    # before the fix each commit waited for a second connection until the pool timed out,
    # and the delivery was not enqueued (left to the one-minute sweep)
    assert [r for r in caplog.records if "could not enqueue" in r.getMessage()] == []
    with tenant_session(app, tenant_a.slug) as session:
        emitted = session.scalar(select(func.count()).select_from(events.OutboxEvent))
    assert emitted == before + capacity
