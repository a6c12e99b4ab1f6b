"""Back-tests: the draft run over the stored decisions of a period, old outcome x new outcome
with the approve rates; inline for a few, as the ``risk.back_test`` job (with progress)
beyond ``INLINE_LIMIT``, paging through the decisions; risk managers only."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from flask import Flask

from tests.platform.flows.conftest import Desk
from tests.plugins.customers.conftest import Firm
from tests.plugins.risk.conftest import publish, rule, submit

URL = "/risk/rule-sets/application/back-tests"


@pytest.fixture
def desk(risk: Firm, app: Flask) -> Desk:
    shop = Desk(app, risk)
    manager = risk.staff["risk"].api
    publish(
        manager,
        {"rules": [rule("big", "amount > 100000"), rule("long", "term_months > 24", "refer")]},
    )
    for amount, term in (("150000.00", 12), ("60000.00", 12), ("20000.00", 12), ("20000.00", 36)):
        submit(shop, amount, term)
    # the draft: stricter on amounts, no longer refers long terms
    saved = manager.put(
        "/risk/rule-sets/application/draft", json={"rules": [rule("mid", "amount > 50000")]}
    )
    assert saved.status_code == 200, saved.get_json()
    return shop


def _period() -> dict[str, str]:
    today = date.today()
    return {"since": str(today - timedelta(days=1)), "until": str(today + timedelta(days=1))}


# old outcome -> new outcome: 60000 was approved and is rejected now; the long term that
# was referred is approved now
EXPECTED = {
    "auto_approve": {"auto_approve": 1, "refer": 0, "auto_reject": 1},
    "refer": {"auto_approve": 1, "refer": 0, "auto_reject": 0},
    "auto_reject": {"auto_approve": 0, "refer": 0, "auto_reject": 1},
}


def test_the_draft_runs_over_the_period_s_decisions(desk: Desk) -> None:
    manager = desk.firm.staff["risk"].api
    answer = manager.post(URL, json=_period())
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (body["state"], body["total"], body["done"], body["label"]) == ("done", 4, 4, "draft")
    assert body["summary"]["grid"] == EXPECTED
    assert (body["summary"]["old_approve_rate"], body["summary"]["new_approve_rate"]) == (
        "50.0",
        "50.0",
    )
    assert sorted((r["old"], r["new"]) for r in body["rows"]) == [
        ("auto_approve", "auto_approve"),
        ("auto_approve", "auto_reject"),
        ("auto_reject", "auto_reject"),
        ("refer", "auto_approve"),
    ]
    # a published version, and a period without decisions
    first = manager.post(URL, json={**_period(), "source": "1"}).get_json()
    assert first["summary"]["grid"]["refer"]["refer"] == 1 and first["label"] == "v1"
    later = str(date.today() + timedelta(days=5))
    empty = manager.post(URL, json={"since": later, "until": later}).get_json()
    assert (empty["total"], empty["summary"]["old_approve_rate"]) == (0, None)


def test_many_decisions_run_as_a_job_page_by_page(
    desk: Desk, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loandesk_risk import backtests

    from loandesk.jobs.runtime import execute

    monkeypatch.setattr(backtests, "INLINE_LIMIT", 2)
    monkeypatch.setattr(backtests, "BATCH", 3)  # two pages
    manager = desk.firm.staff["risk"].api
    queued = manager.post(URL, json=_period()).get_json()
    assert (queued["state"], queued["done"], queued["job_id"] is not None) == ("queued", 0, True)
    progress: list[tuple[int, int]] = []
    execute(app, "bt-" + str(uuid.uuid4()), backtests.JOB, uuid.UUID(desk.firm.tenant.id),
            (queued["id"],), 1, lambda done, total: progress.append((done, total)))  # fmt: skip
    assert progress == [(3, 4), (4, 4)]
    done = manager.get(f"{URL}/{queued['id']}").get_json()
    assert (done["state"], done["done"]) == ("done", 4)
    assert done["summary"]["grid"]["refer"] == {"auto_approve": 1, "refer": 0, "auto_reject": 0}


def test_only_risk_managers_back_test(desk: Desk) -> None:
    officer = desk.firm.staff["officer1"].api
    assert officer.post(URL, json=_period()).status_code == 403
    wrong = desk.firm.staff["risk"].api.post(
        URL, json={"since": str(date.today()), "until": str(date.today() - timedelta(days=1))}
    )
    assert wrong.status_code == 422 and "until" in wrong.get_json()["errors"]
