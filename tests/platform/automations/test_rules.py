"""Acceptance (issue 7, point 4): a rule whose condition does not parse, or whose parts name
what does not exist, is refused at save time with a message saying where; templates name only
fields of the record."""

from __future__ import annotations

import pytest

from loandesk.automations.templates import problems, render
from loandesk.errors import Conflict, ValidationFailed
from tests.platform.automations.conftest import save_rule
from tests.platform.flows.conftest import Desk

GOOD = {
    "name": "批准后进入签约",
    "trigger": {"kind": "event", "event": "application.approved"},
    "condition": "amount >= 10000",
    "actions": [{"type": "set_field", "field": "stage", "value": "signing"}],
}


def test_a_sound_rule_is_saved_once_by_name(shop: Desk) -> None:
    assert save_rule(shop, GOOD)
    with pytest.raises(Conflict):
        save_rule(shop, GOOD)


@pytest.mark.parametrize(
    ("change", "where", "text"),
    [
        ({"condition": "amount >= "}, "condition", "This is not a valid expression"),
        ({"condition": "colour == 'red'"}, "condition", "No field is called colour."),
        ({"condition": "amount =~ '1.*'"}, "condition", "Regular-expression operators"),
        ({"trigger": {"kind": "event", "event": "loan.disbursed"}}, "trigger", "loan.disbursed"),
        ({"trigger": {"kind": "whenever"}}, "trigger", "Choose when the rule runs."),
        ({"actions": []}, "actions", "Add at least one action."),
        ({"actions": [{"type": "launch"}]}, "actions.0", "Choose what this action does."),
        (
            {"actions": [{"type": "set_field", "field": "amount", "value": "1"}]},
            "actions.0.field",
            "custom",
        ),
        (
            {"actions": [{"type": "set_field", "field": "stage", "value": "party"}]},
            "actions.0.value",
            "Choose one of the options.",
        ),
    ],
)
def test_a_rule_with_a_problem_is_refused_saying_where(
    shop: Desk, change: dict[str, object], where: str, text: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        save_rule(shop, {**GOOD, **change})
    assert list(refused.value.errors) == [where]
    assert text in " ".join(refused.value.errors[where])


def test_templates_name_only_the_records_fields() -> None:
    fields = ("number", "amount", "stage")
    assert problems("申请 {{ number }} 金额 {{ amount }} 元，{{ title }}", fields) == []
    assert problems("您好 {{ nmae }}，{{ colour }}", fields) == [
        "The template names colour, nmae, which are not fields of this record."
    ]
    assert problems("{{ number ", fields)[0].startswith("The template cannot be read at line 1")
    assert problems("", fields) == ["Enter a text."]
    # the sandbox: no reaching into Python from a template
    assert problems("{{ number.__class__ }}", fields) == []
    with pytest.raises(Exception, match="unsafe"):
        render("{{ number.__class__.__mro__ }}", {"number": "SQ1"})
    assert render("申请 {{ number }}，备注{{ stage }}", {"number": "SQ1", "stage": None}) == (
        "申请 SQ1，备注"
    )
