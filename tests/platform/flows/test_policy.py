"""Acceptance (issue 6, point 1): "amount < 50,000: credit officers A and B or-sign; amount ≥
50,000: A and B countersign, then the risk manager approves" runs as configured for 49,999.99,
50,000 and 80,000, including a rejection by B in the countersign."""

from __future__ import annotations

from typing import Any

import pytest

from loandesk.errors import Conflict, Forbidden
from tests.platform.flows.conftest import Desk, approver


def policy(desk: Desk) -> list[dict[str, Any]]:
    a, b = desk.user("a"), desk.user("b")
    return [
        {
            "id": "by_amount",
            "type": "branch",
            "name": "按金额",
            "branches": [
                {
                    "id": "small",
                    "name": "5 万以下",
                    "condition": "amount < 50000",
                    "nodes": [approver("credit_or", [a, b], mode="any")],
                },
                {
                    "id": "large",
                    "name": "5 万及以上",
                    "default": True,
                    "nodes": [
                        approver("credit_and", [a, b], mode="all"),
                        {
                            "id": "risk",
                            "type": "approver",
                            "name": "风控主管",
                            "assignees": [{"kind": "role", "role": "risk_manager"}],
                        },
                    ],
                },
            ],
        }
    ]


def test_below_the_threshold_either_officer_decides(desk: Desk) -> None:
    desk.publish(policy(desk))
    application, instance = desk.submit("49999.99")
    assert desk.status(application) == "submitted"
    assert desk.pending(instance) == ("credit_or", {"a", "b"})
    assert desk.act("approve", "b", instance) == "approved"
    assert desk.status(application) == "approved"
    # A's task went with B's decision: A can no longer decide anything
    with pytest.raises(Conflict):
        desk.act("approve", "a", instance)
    assert desk.pending(instance) == (None, set())


def test_either_officer_can_also_reject_below_the_threshold(desk: Desk) -> None:
    desk.publish(policy(desk))
    application, instance = desk.submit("49999.99")
    assert desk.act("reject", "a", instance) == "rejected"
    assert desk.status(application) == "rejected"


@pytest.mark.parametrize("amount", ["50000", "80000"])
def test_at_and_above_the_threshold_both_officers_then_the_risk_manager(
    desk: Desk, amount: str
) -> None:
    desk.publish(policy(desk))
    application, instance = desk.submit(amount)
    assert desk.pending(instance) == ("credit_and", {"a", "b"})
    with pytest.raises(Forbidden):  # not yet the risk manager's turn
        desk.act("approve", "risk", instance)
    assert desk.act("approve", "a", instance) == "running"
    assert desk.pending(instance) == ("credit_and", {"b"})  # countersign: B still has to
    with pytest.raises(Conflict):  # A decided already
        desk.act("approve", "a", instance)
    assert desk.act("approve", "b", instance) == "running"
    assert desk.pending(instance) == ("risk", {"risk"})
    assert desk.status(application) == "in_review"  # officers A and B have decided
    assert desk.act("approve", "risk", instance) == "approved"
    assert desk.status(application) == "approved"
    assert desk.timeline(instance) == [
        "submitted",
        "assigned",
        "approved",
        "approved",
        "assigned",
        "approved",
        "finished",
    ]


def test_a_rejection_by_b_in_the_countersign_rejects_the_application(desk: Desk) -> None:
    desk.publish(policy(desk))
    application, instance = desk.submit("80000")
    assert desk.act("approve", "a", instance) == "running"
    assert desk.act("reject", "b", instance, note=_note("负债率过高")) == "rejected"
    assert desk.status(application) == "rejected"
    assert desk.pending(instance) == (None, set())
    with pytest.raises(Conflict):
        desk.act("approve", "risk", instance)  # never reached, and now over


def _note(text: str) -> Any:
    from loandesk.flows.actions import Note

    return Note(comment=text)
