"""Time-relative rules: "two days before an application's signing date, at 09:00 Beijing
time, a to-do for its credit officer" — fires on the right day once the time has come, once
per record and date, only where the condition holds."""

from __future__ import annotations

from sqlalchemy import select

from tests.helpers import ApiClient
from tests.platform.automations.conftest import run_job, save_rule
from tests.platform.flows.conftest import Desk, at

SIGN_BY = {"key": "sign_by", "kind": "date", "label_zh": "签约截止日", "label_en": "Sign by"}
RULE = {
    "name": "签约截止前两天提醒",
    "trigger": {"kind": "relative", "field": "sign_by", "days": -2, "at": "09:00"},
    "condition": "amount >= 10000",
    "actions": [
        {
            "type": "create_todo",
            "title": "{{ title }} 请在 {{ sign_by }} 前完成签约",
            "assignee": {"kind": "owner"},
        }
    ],
}


def _application(desk: Desk, amount: str, sign_by: str) -> str:
    api = desk.firm.staff["officer1"].api
    body = {"customer_id": desk.customer, "amount": amount, "term_months": 12, "sign_by": sign_by}
    created = api.post("/applications", json=body)
    assert created.status_code == 201, created.get_json()
    return str(created.get_json()["id"])


def _run(desk: Desk, moment: str) -> int:
    from loandesk.automations import relative
    from loandesk.plugins import runtime

    with desk.session() as session:
        types = {t.key: t for t in runtime.record_types()}
        return relative.run(session, types, "Asia/Shanghai", at(moment))


def _firings(desk: Desk) -> list[tuple[str, str]]:
    from loandesk.automations.models import RuleFiring

    with desk.session() as session:
        return sorted((f.record_id, f.occurrence) for f in session.scalars(select(RuleFiring)))


def test_two_days_before_the_date_at_nine(shop: Desk, api_a: ApiClient) -> None:
    from loandesk.automations.models import AutomationRule
    from loandesk.todos.models import Todo

    assert api_a.post("/record-types/application/fields", json=SIGN_BY).status_code == 201
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    save_rule(shop, RULE)
    first = _application(shop, "80000", "2026-12-10")
    second = _application(shop, "30000", "2026-12-10")
    _application(shop, "5000", "2026-12-10")  # the condition does not hold
    later = _application(shop, "50000", "2026-12-11")

    assert _run(shop, "2026-12-08T08:59:00") == 0  # the day, not yet the time
    assert _run(shop, "2026-12-08T09:00:00") == 2
    assert _firings(shop) == sorted([(first, "2026-12-10"), (second, "2026-12-10")])
    assert _run(shop, "2026-12-08T09:05:00") == 0  # looked at today already
    with shop.session() as session:  # even if it looked again: one firing per record and date
        for rule in session.scalars(select(AutomationRule)):
            rule.checked_on = None
    assert _run(shop, "2026-12-08T10:00:00") == 0
    assert _run(shop, "2026-12-09T09:00:00") == 1
    assert (later, "2026-12-11") in _firings(shop)

    run_job(shop, "core.run_firings")
    with shop.session() as session:
        titles = sorted(t.title for t in session.scalars(select(Todo)))
        assignees = {t.assignee_user_id for t in session.scalars(select(Todo))}
    assert len(titles) == 3 and all(t.endswith("前完成签约") for t in titles)
    assert any("2026-12-11" in t for t in titles)
    assert assignees == {shop.user("officer1")}


def test_a_relative_rule_needs_a_date_field_and_a_time(shop: Desk) -> None:
    import pytest

    from loandesk.errors import ValidationFailed

    for trigger, text in (
        ({"field": "amount", "days": -2, "at": "09:00"}, "Choose a date field of the form."),
        ({"field": "created_at", "days": 400, "at": "09:00"}, "from -366 to 366"),
        ({"field": "created_at", "days": 1, "at": "25:00"}, "HH:MM"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            plain = [{**RULE["actions"][0], "title": "{{ title }} 请尽快签约"}]
            save_rule(shop, {**RULE, "actions": plain, "trigger": {"kind": "relative", **trigger}})
        assert list(refused.value.errors) == ["trigger"]
        assert text in refused.value.errors["trigger"][0]
