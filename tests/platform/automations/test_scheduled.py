"""Schedule triggers: "every Monday at 09:00 Beijing time, a to-do for each large application
still in approval" — a cron over a saved filter fires once per record and due time, not for
a due time before the rule was saved, and never twice for the same due time however many
schedulers look."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from tests.helpers import ApiClient
from tests.platform.automations.conftest import run_job, save_rule
from tests.platform.flows.api_helpers import staff
from tests.platform.flows.conftest import Desk, at

RULE = {
    "name": "每周一催办大额申请",
    "trigger": {
        "kind": "schedule",
        "cron": "0 9 * * 1",
        "filters": ["status:eq:submitted", "amount:ge:50000"],
    },
    "condition": "term_months >= 12",
    "actions": [
        {
            "type": "create_todo",
            "title": "催办 {{ title }}（{{ amount }}）",
            "assignee": {"kind": "owner"},
        }
    ],
}


def _run(desk: Desk, moment: str | None = None) -> int:
    """The schedule rules run at Beijing time ``moment`` (None: now)."""
    from loandesk import pii
    from loandesk.automations import scheduled
    from loandesk.plugins import runtime

    when = at(moment) if moment else None
    with desk.session() as session:
        types = {t.key: t for t in runtime.record_types()}
        return scheduled.run(session, types, "Asia/Shanghai", pii.for_current_tenant(), when)


def _firings(desk: Desk) -> list[tuple[str, str]]:
    from loandesk.automations.models import RuleFiring

    with desk.session() as session:
        return sorted((f.record_id, f.occurrence) for f in session.scalars(select(RuleFiring)))


def _draft(desk: Desk, amount: str, term: int = 12) -> str:
    api = desk.firm.staff["officer1"].api
    body = {"customer_id": desk.customer, "amount": amount, "term_months": term}
    created = api.post("/applications", json=body)
    assert created.status_code == 201, created.get_json()
    return str(created.get_json()["id"])


def test_each_due_time_fires_once_for_the_records_the_filter_selects(shop: Desk) -> None:
    from loandesk.automations.models import AutomationRule
    from loandesk.todos.models import Todo

    large, _ = shop.submit("80000")
    medium, _ = shop.submit("50000")
    shop.submit("20000")  # the filter leaves it out
    _draft(shop, "90000")  # a draft: the filter leaves it out
    rule_id = save_rule(shop, RULE)

    assert _run(shop) == 0  # saved now: the Monday that passed before does not fire
    with shop.session() as session:  # (the test's clock jumps to 2030: say it last ran then)
        session.execute(
            update(AutomationRule)
            .where(AutomationRule.id == rule_id)
            .values(last_due_at=at("2029-12-31T09:00:00"))
        )
    assert _run(shop, "2030-01-06T23:00:00") == 0  # Sunday: nothing due since
    assert _run(shop, "2030-01-07T09:00:00") == 2
    first = "2030-01-07T01:00:00+00:00"
    assert _firings(shop) == sorted([(large, first), (medium, first)])
    assert _run(shop, "2030-01-07T09:04:00") == 0  # the due time is claimed

    # a second scheduler that read the rule before the claim: the firings are unique
    with shop.session() as session:
        session.execute(
            update(AutomationRule)
            .where(AutomationRule.id == rule_id)
            .values(last_due_at=at("2029-12-31T09:00:00"))
        )
    assert _run(shop, "2030-01-07T09:05:00") == 0
    assert len(_firings(shop)) == 2

    run_job(shop, "core.run_firings")
    with shop.session() as session:
        titles = sorted(t.title for t in session.scalars(select(Todo)))
    assert len(titles) == 2 and all(t.startswith("催办 ") for t in titles)

    assert _run(shop, "2030-01-14T09:00:00") == 2  # the next Monday: a new occurrence
    assert len(_firings(shop)) == 4


def test_the_condition_is_decided_per_record(shop: Desk) -> None:
    shop.submit("60000")  # 12 months (the desk's term)
    save_rule(shop, {**RULE, "condition": "term_months > 12"})
    with shop.session() as session:
        from loandesk.automations.models import AutomationRule

        session.execute(update(AutomationRule).values(last_due_at=at("2029-12-31T09:00:00")))
    assert _run(shop, "2030-01-07T09:00:00") == 0


def test_a_disabled_rule_or_a_missed_week_is_caught_up_once(shop: Desk) -> None:
    from loandesk.automations import service
    from loandesk.automations.models import AutomationRule

    shop.submit("80000")
    rule_id = save_rule(shop, RULE)
    with shop.session() as session:
        session.execute(update(AutomationRule).values(last_due_at=at("2029-12-02T09:00:00")))
    assert _run(shop, "2030-01-08T12:00:00") == 1  # five Mondays missed: one firing
    assert len(_firings(shop)) == 1
    with shop.session() as session:
        row = service.get(session, rule_id)
        service.set_enabled(session, row, False)
    assert _run(shop, "2030-01-14T09:00:00") == 0
    with shop.session() as session:
        row = service.get(session, rule_id)
        service.set_enabled(session, row, True)  # from now on: no firing for the past
        assert row.last_due_at is not None
    assert _run(shop) == 0
    assert _run(shop, "2030-01-14T09:30:00") == 1  # the next due time after it was enabled


def _problems(api: ApiClient, trigger: dict[str, Any]) -> dict[str, Any]:
    body = {**RULE, "record_type": "application", "trigger": trigger}
    refused = api.post("/automations", json=body)
    assert refused.status_code == 422, refused.get_json()
    return dict(refused.get_json()["errors"])


def test_a_schedule_needs_a_valid_cron_and_filters(shop: Desk) -> None:
    api_a = staff(shop, "admin", ("automations:read", "automations:write"))
    schedule = {"kind": "schedule", "filters": []}
    assert "trigger.cron" in _problems(api_a, {**schedule, "cron": "every monday"})
    assert "trigger.cron" in _problems(api_a, {**schedule, "cron": "61 9 * * 1"})
    too_often = _problems(api_a, {**schedule, "cron": "*/5 * * * *"})
    assert too_often["trigger.cron"] == ["A schedule runs at most every 15 minutes."]
    unknown = _problems(api_a, {**schedule, "cron": "0 9 * * 1", "filters": ["nope:eq:1"]})
    assert unknown == {"trigger.filter.0": ["No field nope to filter by."]}
    wrong = _problems(
        api_a, {**schedule, "cron": "0 9 * * 1", "filters": ["status:eq:submitted", "amount:ge:x"]}
    )
    assert list(wrong) == ["trigger.filter.1"]
    assert "trigger.filters" in _problems(api_a, {**schedule, "cron": "0 9 * * 1", "filters": "x"})

    saved = api_a.post("/automations", json={**RULE, "record_type": "application"})
    assert saved.status_code == 201, saved.get_json()
    assert saved.get_json()["trigger"] == {
        "kind": "schedule",
        "cron": "0 9 * * 1",
        "filters": ["status:eq:submitted", "amount:ge:50000"],
    }
