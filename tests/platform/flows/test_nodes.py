"""Each kind of node and assignee as the issue lists them: assignees from a role, an org
unit's head, the submitter's manager N levels up and a staff-member field; or-sign,
countersign, in sequence and by ratio; what happens when nobody resolves; CC, automation and
end nodes; conditions over custom fields."""

from __future__ import annotations

from typing import Any

import pytest

from loandesk.errors import Conflict
from tests.helpers import ApiClient
from tests.platform.flows.conftest import Desk, approver


def _heads(desk: Desk, api: ApiClient) -> None:
    """officer2 heads 一组, the risk manager the branch, finance the company."""
    for unit, head in (("team1", "officer2"), ("branch", "risk"), ("company", "finance")):
        response = api.patch(
            f"/org-units/{desk.firm.units[unit]}",
            json={"head_user_id": desk.firm.staff[head].user_id},
        )
        assert response.status_code == 200, response.get_json()


def _node(node_id: str, *assignees: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "approver",
        "name": node_id,
        "assignees": list(assignees),
        **extra,
    }


def test_managers_unit_heads_roles_and_fields_resolve(desk: Desk, api_a: ApiClient) -> None:
    _heads(desk, api_a)
    desk.publish(
        [
            _node("direct", {"kind": "manager", "levels": 1}),
            _node("second", {"kind": "manager", "levels": 2}),
            _node("head", {"kind": "unit_head", "unit": desk.firm.units["company"]}),
            _node("role", {"kind": "role", "role": "credit_officer"}, mode="all"),
            _node("owner", {"kind": "field", "field": "owner_id"}),
        ]
    )
    _application, instance = desk.submit("10000", by="officer1")  # officer1 sits in 一组
    assert desk.pending(instance) == ("direct", {"officer2"})
    desk.act("approve", "officer2", instance)
    assert desk.pending(instance) == ("second", {"risk"})
    desk.act("approve", "risk", instance)
    assert desk.pending(instance) == ("head", {"finance"})
    desk.act("approve", "finance", instance)
    assert desk.pending(instance) == ("role", {"officer1", "officer2", "officer3", "a", "b"})
    for name in ("officer1", "officer2", "officer3", "a", "b"):
        desk.act("approve", name, instance)
    assert desk.pending(instance) == ("owner", {"officer1"})


def test_the_head_of_a_unit_has_the_unit_above_as_direct_manager(
    desk: Desk, api_a: ApiClient
) -> None:
    _heads(desk, api_a)
    desk.publish([_node("direct", {"kind": "manager", "levels": 1})])
    _application, instance = desk.submit("10000", by="officer2")  # heads 一组 themself
    assert desk.pending(instance) == ("direct", {"risk"})


@pytest.mark.parametrize(
    ("when_empty", "expected"),
    [("skip", ("last", {"a"})), ("admin", ("nobody", {"admin"})), ("block", ("nobody", set()))],
)
def test_when_nobody_resolves(desk: Desk, when_empty: str, expected: tuple[Any, Any]) -> None:
    # no unit has a head yet: the manager resolves to nobody
    desk.publish(
        [
            _node("nobody", {"kind": "manager", "levels": 1}, when_empty=when_empty),
            approver("last", [desk.user("a")]),
        ]
    )
    _application, instance = desk.submit("10000")
    node, users = desk.pending(instance)
    admins = {u for u in users if u not in desk.firm.staff}
    assert (node, {("admin" if u in admins else u) for u in users}) == expected
    if when_empty == "block":
        assert "blocked" in desk.timeline(instance)


def test_in_sequence_each_approver_in_turn(desk: Desk) -> None:
    users = [desk.user(n) for n in ("a", "b", "officer3")]
    desk.publish([approver("seq", users, mode="sequence")])
    application, instance = desk.submit("10000")
    assert desk.pending(instance) == ("seq", {"a"})
    with pytest.raises(Conflict):
        desk.act("approve", "b", instance)  # waiting for A
    desk.act("approve", "a", instance)
    assert desk.pending(instance) == ("seq", {"b"})
    desk.act("approve", "b", instance)
    assert desk.pending(instance) == ("seq", {"officer3"})
    assert desk.act("approve", "officer3", instance) == "approved"
    assert desk.status(application) == "approved"


def test_by_ratio_passes_at_the_ratio_and_fails_when_it_cannot_be_reached(desk: Desk) -> None:
    users = [desk.user(n) for n in ("a", "b", "officer2", "officer3")]
    desk.publish([approver("vote", users, mode="ratio", ratio=50)])
    _application, instance = desk.submit("10000")
    desk.act("approve", "a", instance)
    assert desk.act("approve", "b", instance) == "approved"  # 2 of 4 = 50 %

    _application, instance = desk.submit("10000")
    desk.act("reject", "a", instance)
    desk.act("reject", "b", instance)
    assert desk.act("reject", "officer2", instance) == "rejected"  # at most 1 of 4 left


def test_cc_automation_and_an_end_that_rejects(desk: Desk, api_a: ApiClient) -> None:
    for field in (
        {"key": "risk_level", "kind": "select", "label_zh": "风险等级", "label_en": "Risk",
         "rules": {"options": [{"value": "low", "label_zh": "低", "label_en": "Low"},
                               {"value": "high", "label_zh": "高", "label_en": "High"}]}},
        {"key": "blacklisted", "kind": "boolean", "label_zh": "黑名单", "label_en": "Blacklisted"},
    ):  # fmt: skip
        assert api_a.post("/record-types/application/fields", json=field).status_code == 201
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    desk.publish(
        [
            {"id": "cc", "type": "cc", "name": "抄送财务",
             "assignees": [{"kind": "role", "role": "finance"}]},
            {"id": "check", "type": "branch", "name": "黑名单", "branches": [
                {"id": "black", "name": "黑名单", "condition": "blacklisted == true", "nodes": [
                    {"id": "mark", "type": "automation", "name": "标高风险",
                     "action": "set_field", "field": "risk_level", "value": "high"},
                    {"id": "refuse", "type": "end", "name": "拒绝", "outcome": "rejected"}]},
                {"id": "normal", "name": "其他", "default": True, "nodes": [
                    approver("credit", [desk.user("a")])]}]},
        ]
    )  # fmt: skip
    application, instance = desk.submit("10000", blacklisted=True)
    assert desk.status(application) == "rejected"
    officer = desk.firm.staff["officer1"].api
    assert desk.timeline(instance) == ["submitted", "copied", "automated", "finished"]
    assert officer.get(f"/applications/{application}").get_json()["risk_level"] == "high"

    application, instance = desk.submit("10000", blacklisted=False)
    assert desk.pending(instance) == ("credit", {"a"})
    assert officer.get(f"/applications/{application}").get_json()["risk_level"] is None
    # finance was copied on both and may follow (comment on) them
    from loandesk.flows.actions import Note

    desk.act("comment", "finance", instance, Note("已知悉"))
