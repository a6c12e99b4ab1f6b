"""Acceptance (issue 6, point 4): publishing a version with an extra review step while three
instances are running: those three finish on the old path, new submissions take the new one;
the history of versions is kept."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select

from tests.platform.flows.conftest import Desk, approver
from tests.platform.flows.test_policy import policy


def with_review(desk: Desk) -> list[dict[str, Any]]:
    """The policy with a final review by officer3 on the large-amount path."""
    nodes = copy.deepcopy(policy(desk))
    large = nodes[0]["branches"][1]["nodes"]
    large.append(approver("final_review", [desk.user("officer3")]))
    return nodes


def _finish_old_path(desk: Desk, instance: Any, *, a_done: bool = False) -> str:
    if not a_done:
        desk.act("approve", "a", instance)
    desk.act("approve", "b", instance)
    assert desk.pending(instance) == ("risk", {"risk"})
    return str(desk.act("approve", "risk", instance))


def test_running_instances_finish_on_their_version(desk: Desk) -> None:
    from loandesk.flows import definitions
    from loandesk.flows.models import FlowInstance, FlowVersion

    assert desk.publish(policy(desk), note="初版") == 1
    running = [desk.submit("80000") for _ in range(3)]
    desk.act("approve", "a", running[0][1])  # one is already part-way

    assert desk.publish(with_review(desk), note="大额增加复核") == 2

    for number, (application, instance) in enumerate(running):
        # no final review for them
        assert _finish_old_path(desk, instance, a_done=number == 0) == "approved"
        assert desk.status(application) == "approved"

    application, instance = desk.submit("80000")
    desk.act("approve", "a", instance)
    desk.act("approve", "b", instance)
    assert desk.act("approve", "risk", instance) == "running"
    assert desk.pending(instance) == ("final_review", {"officer3"})
    assert desk.act("approve", "officer3", instance) == "approved"
    assert desk.status(application) == "approved"

    with desk.session() as session:
        numbers = {
            number
            for (number,) in session.execute(
                select(FlowVersion.number)
                .join(FlowInstance, FlowInstance.version_id == FlowVersion.id)
                .where(FlowInstance.id.in_([i for _a, i in [*running, (application, instance)]]))
            )
        }
        history = [(v.number, v.note) for v in definitions.versions(session, "application")]
    assert numbers == {1, 2}
    assert history == [(2, "大额增加复核"), (1, "初版")]


def test_an_invalid_draft_is_not_published_and_the_version_in_force_stays(desk: Desk) -> None:
    from loandesk.errors import ValidationFailed
    from loandesk.fields.forms import published_form
    from loandesk.flows import definitions
    from loandesk.plugins import runtime

    desk.publish(policy(desk))
    broken = policy(desk)
    broken[0]["branches"][0]["condition"] = "amount < 50000 and colour == 'red'"
    del broken[0]["branches"][1]["default"]
    broken[0]["branches"][1]["condition"] = "amount >= 50000"
    broken.append({"id": "stop", "type": "end", "outcome": "rejected"})
    broken.append(approver("after_end", [desk.user("a")]))
    with desk.session() as session:
        declared = runtime.record_type("application")
        form = published_form(session, declared)
        _row, problems = definitions.save_draft(session, declared, form, {"nodes": broken})
    assert set(problems) == {"small", "by_amount", "after_end"}
    assert problems["small"] == ["No field is called colour."]
    assert problems["by_amount"] == ["A condition node needs a default branch."]
    assert problems["after_end"] == ["Nothing can reach this node: it comes after an end node."]
    try:
        with desk.session() as session:
            definitions.publish(session, declared, form)
    except ValidationFailed as refused:
        assert set(refused.errors) == set(problems)
    else:
        raise AssertionError("an invalid draft was published")
    _application, instance = desk.submit("20000")
    assert desk.pending(instance) == ("credit_or", {"a", "b"})  # version 1 still in force


def test_publishing_the_version_in_force_again_is_refused(desk: Desk) -> None:
    from loandesk.errors import Conflict
    from loandesk.fields.forms import published_form
    from loandesk.flows import definitions
    from loandesk.plugins import runtime

    assert desk.publish(policy(desk)) == 1
    with desk.session() as session:
        declared = runtime.record_type("application")
        form = published_form(session, declared)
        definitions.save_draft(session, declared, form, {"nodes": policy(desk)})
    try:
        with desk.session() as session:
            definitions.publish(session, declared, form)
    except Conflict as refused:
        assert refused.message == "Nothing changed since version 1."
    else:
        raise AssertionError("the same tree was published again")
    assert desk.publish(with_review(desk)) == 2
