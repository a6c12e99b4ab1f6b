"""Acceptance (issue 9, channels): a lead from an agent's link becomes an application, is
auto-referred by a rule, approved in the flow, and the channel funnel counts it at each
stage — the built-in report's numbers compared with a hand-written SQL count."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask
from sqlalchemy import text

from tests.helpers import ApiClient
from tests.platform.flows.conftest import Desk, approver
from tests.platform.reports.conftest import reports_client
from tests.plugins.channels.conftest import Channels, submit_public_form
from tests.plugins.risk.conftest import OUTCOME_FIELD, publish, rule

STAGES = ("leads", "converted", "submitted", "referred", "approved", "disbursed")

# What the funnel counts, written out by hand: per top-level channel and agent.
BY_HAND = """
select coalesce(parent.name, channel.name) as channel, lead.owner_id as agent,
       count(*) as leads,
       sum(case when lead.status = 'converted' then 1 else 0 end) as converted,
       sum(case when app.status in ('submitted', 'returned', 'approved', 'rejected',
                                    'contracted') then 1 else 0 end) as submitted,
       sum(case when exists (select 1 from risk_decisions d
                             where d.tenant_id = link.tenant_id
                               and d.record_type = 'application'
                               and d.record_id = link.application_id
                               and d.outcome = 'refer') then 1 else 0 end) as referred,
       sum(case when app.status in ('approved', 'contracted') then 1 else 0 end) as approved,
       sum(case when app.status = 'contracted' then 1 else 0 end) as disbursed
from channels_leads lead
left join channels_channels channel
  on channel.tenant_id = lead.tenant_id and channel.id = lead.channel_id
left join channels_channels parent
  on parent.tenant_id = channel.tenant_id and parent.id = channel.parent_id
left join channels_lead_applications link
  on link.tenant_id = lead.tenant_id and link.lead_id = lead.id
left join intake_applications app on app.tenant_id = link.tenant_id and app.id = link.application_id
where lead.tenant_id = :tenant
group by coalesce(parent.name, channel.name), lead.owner_id
"""


def _report(api: ApiClient) -> dict[tuple[Any, Any], dict[str, int]]:
    response = api.post("/reports/builtin/channels.funnel/run")
    assert response.status_code == 200, response.get_json()
    found: dict[tuple[Any, Any], dict[str, int]] = {}
    for row in response.get_json()["rows"]:
        key = (row["channel"], row["owner_id"])
        counts = found.setdefault(key, dict.fromkeys(STAGES, 0))
        for stage in STAGES:
            counts[stage] += int(row[stage] or 0)
    return found


def _by_hand(desk: Desk, tenant_id: str) -> dict[tuple[Any, Any], dict[str, int]]:
    with desk.session() as session:
        rows = session.execute(text(BY_HAND), {"tenant": _db_uuid(session, tenant_id)})
        return {
            (row.channel, _text_uuid(row.agent)): {s: int(getattr(row, s)) for s in STAGES}
            for row in rows
        }


def _db_uuid(session: Any, value: str) -> Any:
    """A uuid as the database stores it (SQLite: 32 hex digits)."""
    return uuid.UUID(value) if session.bind.dialect.name == "postgresql" else uuid.UUID(value).hex


def _text_uuid(value: Any) -> str | None:
    return None if value is None else str(uuid.UUID(str(value)))


def test_an_agent_lead_is_referred_approved_and_counted_at_each_stage(
    channels: Channels, app: Flask, api_a: ApiClient
) -> None:
    firm = channels.firm
    manager = firm.staff["risk"].api
    desk = Desk(app, firm)
    # the tenant's flow: the risk rules' outcome decides; a referral goes to the risk manager
    assert api_a.post("/record-types/application/fields", json=OUTCOME_FIELD).status_code == 201
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    publish(firm.staff["risk"].api, {"rules": [rule("long", "term_months > 24", "refer")]})
    desk.publish(
        [
            {"id": "auto", "type": "branch", "name": "自动审批", "branches": [
                {"id": "pass", "name": "自动通过", "condition": 'risk_outcome == "auto_approve"',
                 "nodes": [{"id": "ok", "type": "end", "name": "通过", "outcome": "approved"}]},
                {"id": "manual", "name": "人工复审", "default": True, "nodes": [
                    approver("review", [desk.user("risk")])]}]},
        ]
    )  # fmt: skip

    # the public form through agent1's link, with the campaign's UTM parameters
    link = channels.links["agent1"] + "&utm_campaign=spring&utm_content=poster"
    sent = submit_public_form(app, link, name="李四", mobile="13912345678", amount="60000")
    assert sent.status_code == 200, sent.get_data(as_text=True)
    assert "We received your enquiry" in sent.get_data(as_text=True)
    # and a lead of another channel that goes no further
    other = channels.links["agent1"].split("?")[0] + "?channel=ADS&utm_source=baidu"
    assert submit_public_form(app, other, name="王五", mobile="13700000000").status_code == 200

    agent = firm.staff["agent1"].api
    (lead,) = agent.get("/channels/leads").get_json()["items"]
    assert (lead["name"], lead["status"], lead["channel_id"]) == (
        "李四",
        "new",
        channels.ids["AGT-SH"],
    )
    assert (lead["utm_source"], lead["utm_medium"]) == ("agent", "referral")
    assert (lead["utm_campaign"], lead["utm_content"]) == ("spring", "poster")
    assert lead["mobile"] == "13912345678" and lead["amount"] == "60000.00"

    converted = agent.post(
        f"/channels/leads/{lead['id']}/convert",
        json={"id_number": "11010519491231002X", "term_months": 36},
    )
    assert converted.status_code == 201, converted.get_json()
    application_id = converted.get_json()["application_id"]
    again = agent.post(f"/channels/leads/{lead['id']}/convert", json={"term_months": 36})
    assert again.status_code == 409
    submitted = agent.post(f"/applications/{application_id}/submit")
    assert submitted.status_code == 200, submitted.get_json()
    assert submitted.get_json()["risk_outcome"] == "refer"
    instance = desk.instance_of(application_id)
    assert desk.pending(instance) == ("review", {"risk"})
    desk.act("approve", "risk", instance)
    assert agent.get(f"/applications/{application_id}").get_json()["status"] == "approved"
    assert agent.get(f"/channels/leads/{lead['id']}").get_json()["status"] == "converted"

    reader = reports_client(
        app, app.test_client(), firm.tenant.slug, firm.tenant.id, firm.staff["risk"].user_id
    )
    report = _report(reader)
    agent1 = firm.staff["agent1"].user_id
    assert report[("渠道AGENTS", agent1)] == {
        "leads": 1, "converted": 1, "submitted": 1, "referred": 1, "approved": 1,
        "disbursed": 0,
    }  # fmt: skip
    assert report[("渠道ADS", None)] == dict.fromkeys(STAGES, 0) | {"leads": 1}
    assert report == _by_hand(desk, firm.tenant.id)
    # a dashboard's channel filter narrows the funnel to the channel's code
    narrowed = reader.post(
        "/reports/query",
        json={
            "dataset": "channels.funnel",
            "dimensions": [{"key": "channel"}, {"key": "sub_channel"}],
            "measures": ["leads", "referred"],
            "filters": ["channel_code:eq:AGENTS"],
        },
    )
    assert narrowed.status_code == 200, narrowed.get_json()
    assert narrowed.get_json()["rows"] == [
        {"channel": "渠道AGENTS", "sub_channel": "渠道AGT-SH", "leads": 1, "referred": 1}
    ]
    # renaming the top-level channel's code keeps its leads under it
    changed = manager.patch(f"/channels/{channels.ids['AGENTS']}", json={"code": "AGENCY"})
    assert changed.status_code == 200, changed.get_json()
    (lead,) = agent.get("/channels/leads").get_json()["items"]
    assert lead["channel_code"] == "AGENCY"

    # the funnel with money: the channel's cost over its disbursed loans (none yet)
    cost = {"channel_id": channels.ids["AGT-SH"], "spent_on": "2026-11-01", "amount": "3000.00"}
    assert manager.post("/channels/costs", json=cost).status_code == 201
    rows = manager.get("/channels/funnel").get_json()
    (row,) = [r for r in rows if r["channel_id"] == channels.ids["AGT-SH"]]
    assert {s: row[s] for s in STAGES} == report[("渠道AGENTS", agent1)]
    assert (row["cost"], row["cost_per_disbursed"]) == ("3000.00", None)
    (ads,) = [r for r in rows if r["channel_id"] == channels.ids["ADS"]]
    assert {s: ads[s] for s in STAGES} == dict.fromkeys(STAGES, 0) | {"leads": 1}
    assert (ads["cost"], ads["cost_per_disbursed"]) == ("0.00", None)
