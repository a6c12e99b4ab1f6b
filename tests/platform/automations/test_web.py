"""Automation rules in the web UI (自动化规则): holders of ``automations.manage`` list rules,
create and edit them through the form (choices refreshed for the record type and trigger
kind, problems next to the inputs they concern), switch them on and off, dry-run one against a
record, read the run log and retry a failed run. Everyone else gets 403. English pages: the
assertions read the message ids."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.helpers import TenantFixture, csrf_from, web_login
from tests.platform.automations.conftest import deliver_and_run, run_job, save_rule
from tests.platform.flows.conftest import Desk
from tests.plugins.customers.conftest import PASSWORD

HX = {"HX-Request": "true"}
TODO_FORM = {
    "name": "批准后提醒签约",
    "record_type": "application",
    "trigger_kind": "event",
    "event": "application.approved",
    "condition": "amount >= 10000",
    "enabled": "on",
    "actions.0.type": "create_todo",
    "actions.0.title": "请联系客户签约：{{ title }}",
    "actions.0.assignee_kind": "owner",
    "actions.0.due_on": "1",
    "actions.0.due_days": "2",
    "actions.0.due_at": "10:00",
}


class Admin:
    """The admin's browser on the automation pages."""

    def __init__(self, client: FlaskClient, desk: Desk) -> None:
        self.client, self.desk = client, desk
        self.base = f"/t/{desk.firm.tenant.slug}/admin/automations"
        self.token = csrf_from(client, self.base)

    def post(self, path: str, htmx: bool = False, **data: Any) -> Any:
        return self.client.post(
            self.base + path, data={"csrf_token": self.token, **data}, headers=HX if htmx else {}
        )

    def page(self, path: str = "", **args: Any) -> str:
        response = self.client.get(self.base + path, query_string=args)
        assert response.status_code == 200
        return str(response.get_data(as_text=True))


@pytest.fixture
def admin(client: FlaskClient, tenant_a: TenantFixture, shop: Desk) -> Admin:
    assert web_login(client, tenant_a).status_code == 302
    with client.session_transaction() as session:
        session["locale"] = "en"
    return Admin(client, shop)


def _rules(desk: Desk) -> list[Any]:
    from loandesk.automations.models import AutomationRule

    with desk.session() as session:
        return [
            (r.name, r.trigger, r.condition, r.actions, r.enabled)
            for r in session.scalars(select(AutomationRule).order_by(AutomationRule.name))
        ]


def _error_after(html: str, input_name: str) -> str:
    """The error block that follows the input ``input_name`` (its ``-error`` element)."""
    match = re.search(rf'id="f-{re.escape(input_name)}-error">(.*?)</div>\s*</div>', html, re.S)
    assert match, f"no error next to {input_name}"
    return match[1]


def test_only_automation_managers_see_the_pages(
    client: FlaskClient, tenant_a: TenantFixture, shop: Desk
) -> None:
    base = f"/t/{tenant_a.slug}/admin/automations"
    login = f"/t/{tenant_a.slug}/login"
    token = csrf_from(client, login)
    signed_in = client.post(
        login,
        data={"email": shop.firm.staff["officer1"].email, "password": PASSWORD,
              "csrf_token": token},
    )  # fmt: skip
    assert signed_in.status_code == 302
    token = csrf_from(client, f"/t/{tenant_a.slug}/")
    assert client.get(base).status_code == 403
    assert client.get(f"{base}/new").status_code == 403
    refused = client.post(f"{base}/new", data={"csrf_token": token, **TODO_FORM})
    assert refused.status_code == 403
    assert client.post(f"{base}/refresh", data={"csrf_token": token}).status_code == 403
    assert _rules(shop) == []


def test_the_list_shows_each_rule_in_words_and_an_empty_state(admin: Admin) -> None:
    assert "No rules yet." in admin.page()
    date_field = _date_fields(admin.desk)[0]
    save_rule(admin.desk, {
        "name": "签约前两天提醒",
        "trigger": {"kind": "relative", "field": date_field.key, "days": -2, "at": "09:00"},
        "actions": [{"type": "create_todo", "title": "签约提醒", "assignee": {"kind": "owner"}}],
    })  # fmt: skip
    save_rule(admin.desk, {
        "name": "批准后进入签约",
        "trigger": {"kind": "event", "event": "application.approved"},
        "actions": [{"type": "set_field", "field": "stage", "value": "signing"}],
    })  # fmt: skip
    html = admin.page()
    assert "批准后进入签约" in html and "签约前两天提醒" in html
    assert "When Application approved" in html
    assert f"2 days before {date_field.label_en} at 09:00" in html
    assert "Never" in html and html.count(">Disable<") == 2
    assert "No rules yet." not in html


def _date_fields(desk: Desk) -> list[Any]:
    """The application form's date fields (what relative triggers count from)."""
    from loandesk.fields.current import current_form

    with desk.session():
        form = current_form("application")
        return [form.field(k) for k, kind in form.expression_kinds.items()
                if kind in ("date", "datetime")]  # fmt: skip


def test_a_rule_is_created_through_the_form(admin: Admin) -> None:
    form = admin.page("/new", record_type="application")
    assert 'name="event"' in form and "application.approved" in form
    created = admin.post("/new", **TODO_FORM)
    assert created.status_code == 302, created.get_data(as_text=True)
    [(name, trigger, condition, actions, enabled)] = _rules(admin.desk)
    assert (name, condition, enabled) == ("批准后提醒签约", "amount >= 10000", True)
    assert trigger == {"kind": "event", "event": "application.approved"}
    assert actions == [{
        "type": "create_todo", "title": "请联系客户签约：{{ title }}",
        "assignee": {"kind": "owner"}, "due": {"days": 2, "at": "10:00"},
    }]  # fmt: skip
    page = admin.client.get(created.headers["Location"]).get_data(as_text=True)
    assert 'value="批准后提醒签约"' in page and "Dry run" in page

    # htmx: the same save answers with where to go
    again = admin.post("/new", htmx=True, **{**TODO_FORM, "name": "第二条"})
    assert again.status_code == 204 and "HX-Redirect" in again.headers


def test_problems_show_next_to_their_inputs_and_nothing_is_saved(admin: Admin) -> None:
    bad = {**TODO_FORM, "actions.0.title": "提醒 {{ no_such_field }}", "condition": "amount >>"}
    refused = admin.post("/new", htmx=True, **bad)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "no_such_field" in _error_after(html, "actions.0.title")
    assert _error_after(html, "condition").strip()
    assert 'value="提醒 {{ no_such_field }}"' in html  # what was typed stays
    assert _rules(admin.desk) == []

    no_actions = admin.post("/new", htmx=True, **{
        k: v for k, v in TODO_FORM.items() if not k.startswith("actions.")
    })  # fmt: skip
    assert no_actions.status_code == 422
    assert "Add at least one action." in no_actions.get_data(as_text=True)


def test_the_refresh_offers_the_record_types_events_and_the_relative_trigger(
    admin: Admin,
) -> None:
    fragment = admin.post("/refresh", htmx=True, record_type="application", trigger_kind="event")
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert 'id="rule-form"' in html and "<html" not in html
    events = re.findall(
        r'<option value="([a-z_.]+)"', html.split('name="event"')[1].split("</select>")[0]
    )
    registry = admin.desk.app.extensions["loandesk.events"].types
    assert events and all(
        registry[e].record_type == "application" or e.startswith("flow.") for e in events
    )
    assert "application.approved" in events

    relative = admin.post("/refresh", htmx=True, record_type="application",
                          trigger_kind="relative").get_data(as_text=True)  # fmt: skip
    assert 'name="date_field"' in relative and 'name="event"' not in relative
    assert 'name="direction"' in relative

    # adding an action and building a condition re-render without saving
    added = admin.post("/refresh", htmx=True, record_type="application", trigger_kind="event",
                       add_action="set_field", condition="",
                       b_field="amount", b_op=">=", b_value="10000", b_join="and",
                       build="1").get_data(as_text=True)  # fmt: skip
    assert 'name="actions.0.field"' in added and 'name="actions.0.type" value="set_field"' in added
    assert "amount &gt;= 10000" in added
    assert _rules(admin.desk) == []


def test_a_relative_rule_through_the_form(admin: Admin) -> None:
    dates = [spec.key for spec in _date_fields(admin.desk)]
    data = {k: v for k, v in TODO_FORM.items() if k not in ("event",)}
    data.update(trigger_kind="relative", date_field=dates[0], days="2", direction="before",
                at="09:00", name="截止前提醒")  # fmt: skip
    created = admin.post("/new", **data)
    assert created.status_code == 302, created.get_data(as_text=True)
    [(_name, trigger, *_rest)] = _rules(admin.desk)
    assert trigger == {"kind": "relative", "field": dates[0], "days": -2, "at": "09:00"}
    assert "2 days before" in admin.page()

    wrong = admin.post("/new", htmx=True, **{**data, "name": "x", "days": "two"})
    assert wrong.status_code == 422
    assert "Enter a whole number of days." in wrong.get_data(as_text=True)


def test_enable_disable_and_delete(admin: Admin) -> None:
    rule_id = save_rule(admin.desk, {
        "name": "批准后进入签约",
        "trigger": {"kind": "event", "event": "application.approved"},
        "actions": [{"type": "set_field", "field": "stage", "value": "signing"}],
    })  # fmt: skip
    off = admin.post(f"/{rule_id}/enabled", htmx=True, enabled="0")
    assert off.status_code == 200 and "Enable" in off.get_data(as_text=True)
    assert _rules(admin.desk)[0][4] is False
    on = admin.post(f"/{rule_id}/enabled", enabled="1")
    assert on.status_code == 302 and _rules(admin.desk)[0][4] is True
    assert admin.post(f"/{rule_id}/delete").status_code == 302
    assert _rules(admin.desk) == []


def test_the_dry_run_shows_the_condition_and_the_rendered_texts(admin: Admin) -> None:
    rule_id = save_rule(admin.desk, {
        "name": "大额提醒", "condition": "amount >= 10000",
        "trigger": {"kind": "event", "event": "application.approved"},
        "actions": [{"type": "create_todo", "title": "联系 {{ title }}：{{ amount }}",
                     "assignee": {"kind": "owner"}}],
    })  # fmt: skip
    large, _ = admin.desk.submit("80000")
    small, _ = admin.desk.submit("5000")
    page = admin.page(f"/{rule_id}")
    assert large in page  # offered among the recent records
    held = admin.post(f"/{rule_id}/dry-run", htmx=True, record=large).get_data(as_text=True)
    assert 'data-holds="1"' in held and "80000" in held and "联系 " in held
    not_held = admin.post(f"/{rule_id}/dry-run", htmx=True, record_id=small)
    assert 'data-holds="0"' in not_held.get_data(as_text=True)
    unknown = admin.post(f"/{rule_id}/dry-run", htmx=True, record_id="nope")
    assert "No record with this id that you may see." in unknown.get_data(as_text=True)
    with admin.desk.session() as session:
        from loandesk.todos.models import Todo

        assert session.scalar(select(Todo.id)) is None  # nothing was created


def test_the_run_log_shows_a_failed_run_and_retries_it(admin: Admin, api_a: Any) -> None:
    from loandesk.automations import engine
    from loandesk.db import utcnow
    from loandesk.plugins import runtime

    desk = admin.desk
    rule_id = save_rule(desk, {
        "name": "批准后进入签约",
        "trigger": {"kind": "event", "event": "application.approved"},
        "actions": [{"type": "set_field", "field": "stage", "value": "signing"}],
    })  # fmt: skip
    assert "The rule has not run yet." in admin.page(f"/{rule_id}/runs")
    # the field goes after the rule was saved: setting it fails until it gives up
    assert api_a.delete("/record-types/application/fields/stage").status_code == 204
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    application, instance = desk.submit("80000")
    desk.act("approve", "a", instance)
    deliver_and_run(desk)
    start = utcnow()
    for attempt in range(2, engine.MAX_ATTEMPTS + 1):
        with desk.session() as session:
            types = {t.key: t for t in runtime.record_types()}
            engine.run_pending(session, types, runtime.automation_actions(),
                               now=start + timedelta(days=attempt))  # fmt: skip

    log = admin.page(f"/{rule_id}/runs")
    assert f"{application}</a>" in log and 'data-state="failed"' in log  # linked
    assert "can no longer be set" in log and ">Retry<" in log
    assert "1 failed" in admin.page()
    assert "No runs in this state." in admin.page(f"/{rule_id}/runs", state="done")

    # a rule that ran cannot be deleted: the message says why
    refused = admin.client.post(
        f"{admin.base}/{rule_id}/delete", data={"csrf_token": admin.token}, follow_redirects=True
    )
    assert "This rule has run" in refused.get_data(as_text=True)

    assert api_a.post("/record-types/application/fields/stage/restore").status_code == 200
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    firing = re.search(r'data-firing="([0-9a-f-]+)"', log)
    assert firing
    retried = admin.post(f"/{rule_id}/runs/{firing[1]}/retry")
    assert retried.status_code == 302
    run_job(desk, "core.run_firings")
    log = admin.page(f"/{rule_id}/runs")
    assert 'data-state="done"' in log and ">Retry<" not in log
    again = admin.client.post(f"{admin.base}/{rule_id}/runs/{firing[1]}/retry",
                              data={"csrf_token": admin.token}, follow_redirects=True)  # fmt: skip
    assert "Only a failed run can be retried." in again.get_data(as_text=True)


def test_a_schedule_rule_through_the_form_takes_a_saved_views_filters(admin: Admin) -> None:
    from loandesk.fields.saved_views import ListView

    with admin.desk.session() as session:
        view = ListView(
            user_id=uuid.UUID(admin.desk.firm.tenant.admin_user_id),
            record_type="application",
            name="大额审批中",
            filters=["status:eq:submitted", "amount:ge:50000"],
        )
        session.add(view)
        session.flush()
        view_id = str(view.id)
    offered = admin.post("/refresh", htmx=True, record_type="application", trigger_kind="schedule")
    html = offered.get_data(as_text=True)
    assert 'name="cron"' in html and "大额审批中" in html and "Asia/Shanghai" in html
    loaded = admin.post("/refresh", htmx=True, record_type="application",
                        trigger_kind="schedule", view=view_id, load_view="1")  # fmt: skip
    assert "status:eq:submitted\namount:ge:50000" in loaded.get_data(as_text=True)

    data = {k: v for k, v in TODO_FORM.items() if k != "event"}
    data.update(trigger_kind="schedule", cron="0 9 * * 1", name="每周催办",
                filters="status:eq:submitted\n\namount:ge:x")  # fmt: skip
    wrong = admin.post("/new", htmx=True, **data)
    assert wrong.status_code == 422 and _rules(admin.desk) == []
    assert "f-filters-error" in wrong.get_data(as_text=True)

    created = admin.post("/new", **{**data, "filters": "status:eq:submitted\namount:ge:50000"})
    assert created.status_code == 302, created.get_data(as_text=True)
    [(_name, trigger, *_rest)] = _rules(admin.desk)
    assert trigger == {"kind": "schedule", "cron": "0 9 * * 1",
                       "filters": ["status:eq:submitted", "amount:ge:50000"]}  # fmt: skip
    assert "On schedule 0 9 * * 1, for the records 2 filters select" in admin.page()


def test_an_event_rule_can_wait_for_one_field_to_change(admin: Admin) -> None:
    data = {**TODO_FORM, "event": "application.updated", "changed_field": "stage",
            "condition": 'stage == "signing"', "name": "进入签约"}  # fmt: skip
    created = admin.post("/new", **data)
    assert created.status_code == 302, created.get_data(as_text=True)
    [(_name, trigger, *_rest)] = _rules(admin.desk)
    assert trigger == {"kind": "event", "event": "application.updated", "field": "stage"}
    assert "When Application changed and Stage changed" in admin.page()
    wrong = admin.post("/new", htmx=True, **{**data, "name": "y", "changed_field": "nope"})
    assert wrong.status_code == 422
    assert "Choose a field of the form." in _error_after(
        wrong.get_data(as_text=True), "changed_field"
    )
