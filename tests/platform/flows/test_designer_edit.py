"""The designer's pure parts: editing the draft tree by id (insert, delete, branches added and
reordered, a node's settings replaced), the condition builder's clauses, reading the side
panel back, and the plain words of a condition. No database, no request."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from loandesk.fields.forms import Form
from loandesk.fields.registry import FieldSpec, RecordType
from loandesk.web.flow_designer import edit, panel

NAMES = {
    "approver": "审批人",
    "branch": "条件分支",
    "cc": "抄送人",
    "automation": "自动操作",
    "end": "结束",
    "branch_1": "条件1",
    "default": "其他情况",
}


def approver(node_id: str) -> dict[str, Any]:
    return {"id": node_id, "type": "approver", "name": node_id, "assignees": []}


def fork(node_id: str, *branches: tuple[str, str | None, list[Any]]) -> dict[str, Any]:
    """A condition node; a branch whose condition is None is the default."""
    return {
        "id": node_id,
        "type": "branch",
        "name": node_id,
        "branches": [
            {"id": b, "name": b, "nodes": nodes, **({"condition": c} if c else {"default": True})}
            for b, c, nodes in branches
        ],
    }


@pytest.fixture
def tree() -> dict[str, Any]:
    return {
        "nodes": [
            approver("first"),
            fork(
                "amount",
                ("small", "amount < 50000", [approver("either")]),
                ("large", None, [approver("both"), approver("risk")]),
            ),
        ]
    }


def order(nodes: list[Any]) -> list[str]:
    return [n["id"] for n in nodes]


def test_new_nodes_get_fresh_ids_and_their_starting_settings(tree: dict[str, Any]) -> None:
    node = edit.new_node(tree, "approver", NAMES)
    assert node["id"].startswith("n") and node["id"] not in edit.ids(tree)
    assert node == {
        "id": node["id"],
        "type": "approver",
        "name": "审批人",
        "assignees": [],
        "mode": "any",
        "when_empty": "admin",
        "bulk": False,
    }
    branch = edit.new_node(tree, "branch", NAMES)
    first, default = branch["branches"]
    assert (first["name"], first["condition"], first["nodes"]) == ("条件1", "", [])
    assert (default["name"], default["default"]) == ("其他情况", True)
    assert (
        len({branch["id"], first["id"], default["id"]} | edit.ids(tree)) == len(edit.ids(tree)) + 3
    )
    assert edit.new_node(tree, "end", NAMES)["outcome"] == "approved"
    with pytest.raises(edit.EditError):
        edit.new_node(tree, "script", NAMES)


def test_insert_goes_where_the_plus_was_and_leaves_the_tree_as_it_was(
    tree: dict[str, Any],
) -> None:
    before = copy.deepcopy(tree)
    top = edit.insert(tree, edit.ROOT, "", approver("new"))
    assert order(top["nodes"]) == ["new", "first", "amount"]
    after_first = edit.insert(tree, edit.ROOT, "first", approver("new"))
    assert order(after_first["nodes"]) == ["first", "new", "amount"]
    in_branch = edit.insert(tree, "large", "both", approver("new"))
    assert order(in_branch["nodes"][1]["branches"][1]["nodes"]) == ["both", "new", "risk"]
    at_branch_start = edit.insert(tree, "small", "", approver("new"))
    assert order(at_branch_start["nodes"][1]["branches"][0]["nodes"]) == ["new", "either"]
    assert tree == before
    with pytest.raises(edit.EditError):
        edit.insert(tree, edit.ROOT, "gone", approver("new"))
    with pytest.raises(edit.EditError):
        edit.insert(tree, "first", "", approver("new"))  # a node holds no sequence


def test_delete_a_node_or_a_branch(tree: dict[str, Any]) -> None:
    assert order(edit.delete(tree, "first")["nodes"]) == ["amount"]
    without_risk = edit.delete(tree, "risk")
    assert order(without_risk["nodes"][1]["branches"][1]["nodes"]) == ["both"]
    with pytest.raises(edit.EditError):
        edit.delete(tree, "gone")

    three = edit.add_branch(tree, "amount", "中额")[0]
    middle = three["nodes"][1]["branches"][1]["id"]
    assert order(edit.delete(three, middle)["nodes"][1]["branches"]) == ["small", "large"]
    with pytest.raises(edit.EditError):  # the default stays while two others remain
        edit.delete(three, "large")


def test_deleting_one_of_two_branches_leaves_the_other_branchs_nodes(
    tree: dict[str, Any],
) -> None:
    kept_large = edit.delete(tree, "small")
    assert order(kept_large["nodes"]) == ["first", "both", "risk"]
    kept_small = edit.delete(tree, "large")
    assert order(kept_small["nodes"]) == ["first", "either"]


def test_branches_are_added_before_the_default_and_move_within_the_conditions(
    tree: dict[str, Any],
) -> None:
    grown, new = edit.add_branch(tree, "amount", "中额")
    branches = grown["nodes"][1]["branches"]
    assert order(branches) == ["small", new, "large"]
    assert branches[1] == {"id": new, "name": "中额", "condition": "", "nodes": []}
    up = edit.move_branch(grown, new, -1)
    assert order(up["nodes"][1]["branches"]) == [new, "small", "large"]
    assert order(edit.move_branch(up, new, -1)["nodes"][1]["branches"]) == [
        new,
        "small",
        "large",
    ]  # already first
    # the default is always tried last: nothing moves below it, and it does not move
    assert order(edit.move_branch(grown, new, 1)["nodes"][1]["branches"]) == [
        "small",
        new,
        "large",
    ]
    with pytest.raises(edit.EditError):
        edit.move_branch(grown, "large", -1)
    with pytest.raises(edit.EditError):
        edit.add_branch(tree, "first", "x")  # not a condition node
    with pytest.raises(edit.EditError):
        edit.move_branch(tree, "first", 1)


def test_replace_sets_what_the_panel_edits_and_keeps_the_structure(
    tree: dict[str, Any],
) -> None:
    settings = {"name": "信审", "assignees": [{"kind": "role", "role": "credit_officer"}]}
    replaced = edit.replace(tree, "first", {**settings, "id": "hijack", "type": "end"})
    assert replaced["nodes"][0] == {"id": "first", "type": "approver", **settings}
    renamed = edit.replace(tree, "amount", {"name": "按金额", "branches": []})
    assert order(renamed["nodes"][1]["branches"]) == ["small", "large"]
    branch = edit.replace(tree, "small", {"name": "小额", "condition": "amount < 1000"})
    assert branch["nodes"][1]["branches"][0] == {
        "id": "small",
        "name": "小额",
        "condition": "amount < 1000",
        "nodes": [approver("either")],
    }
    default = edit.replace(tree, "large", {"name": "其他", "condition": "amount > 1"})
    assert default["nodes"][1]["branches"][1]["default"] is True
    assert "condition" not in default["nodes"][1]["branches"][1]


def form() -> Form:
    fields = (
        FieldSpec("amount", "申请金额", "Amount", "money"),
        FieldSpec("customer_type", "客户类型", "Customer type", "select",
                  options=(("new", "新客户", "New"), ("old", "老客户", "Returning"))),
        FieldSpec("tags", "标签", "Tags", "multi_select", options=(("vip", "VIP", "VIP"),)),
        FieldSpec("guaranteed", "有担保", "Guaranteed", "boolean"),
        FieldSpec("due", "到期日", "Due", "date"),
        FieldSpec("note", "备注", "Note", "text"),
    )  # fmt: skip
    return Form(RecordType("loan", "借款", "Loan", object, fields), ())


@pytest.mark.parametrize(
    ("field", "operator", "value", "expected"),
    [
        ("amount", "<", "50,000", "amount < 50000"),
        ("amount", ">=", "49999.99", "amount >= 49999.99"),
        ("customer_type", "==", "新客户", 'customer_type == "new"'),  # a label is its value
        ("customer_type", "!=", "old", 'customer_type != "old"'),
        ("note", "==", 'say "hi"', 'note == "say \\"hi\\""'),
        ("tags", "contains", "vip", '"vip" in tags'),
        ("guaranteed", "true", "", "guaranteed == true"),
        ("due", "<", "2026-01-31", 'due < d"2026-01-31"'),
        ("note", "empty", "", "note == null"),
    ],
)
def test_the_builder_writes_expressions_that_compile(
    field: str, operator: str, value: str, expected: str
) -> None:
    from loandesk.expressions import compile_expression

    found = form()
    text, errors = panel.clause(found, field, operator, value)
    assert (text, errors) == (expected, {})
    compile_expression(expected, found.expression_kinds)


@pytest.mark.parametrize(
    ("field", "operator", "value", "where"),
    [
        ("", "<", "1", "b_field"),
        ("nope", "<", "1", "b_field"),
        ("note", "<", "x", "b_op"),  # text is not ordered
        ("amount", "<", "", "b_value"),
        ("amount", "<", "five", "b_value"),
        ("amount", "<", "NaN", "b_value"),
        ("due", "<", "31/01/2026", "b_value"),
    ],
)
def test_the_builder_says_which_input_is_wrong(
    field: str, operator: str, value: str, where: str
) -> None:
    text, errors = panel.clause(form(), field, operator, value)
    assert text is None and list(errors) == [where]


def test_the_panel_reads_back_what_it_shows() -> None:
    node = {
        "id": "n1",
        "type": "approver",
        "name": "信审",
        "assignees": [
            {"kind": "user", "user": "u2"},
            {"kind": "user", "user": "u1"},
            {"kind": "role", "role": "risk_manager"},
            {"kind": "manager", "levels": 2},
        ],
        "mode": "ratio",
        "ratio": 60,
        "when_empty": "skip",
        "bulk": True,
        "deadline": {"kind": "working_hours", "amount": 24},
        "on_timeout": "transfer",
        "timeout_user": "u3",
    }
    shown = panel.values(node)
    posted: MultiDict[str, str] = MultiDict()
    for key, value in shown.items():
        if isinstance(value, list):
            for item in value:
                posted.add(key, item)
        elif value is True:
            posted.add(key, "on")
        elif value is not False:
            posted.add(key, str(value))
    settings, errors = panel.read(node, False, posted, form())
    assert errors == {}
    assert {"id": "n1", "type": "approver", **settings} == node
    # a ratio and a deadline that are no whole numbers are refused next to their inputs
    posted.setlist("ratio", ["sixty"])
    posted.setlist("deadline_amount", ["0"])
    assert set(panel.read(node, False, posted, form())[1]) == {"ratio", "deadline_amount"}


def test_the_builder_adds_to_the_condition_with_and_or_or() -> None:
    branch = {"id": "b1", "name": "大额", "condition": "amount >= 50000", "nodes": []}
    posted = MultiDict(
        {"name": "大额新客", "condition": "amount >= 50000", "build": "1", "b_join": "and",
         "b_field": "customer_type", "b_op": "==", "b_value": "new"}
    )  # fmt: skip
    settings, errors = panel.read(branch, True, posted, form())
    assert errors == {}
    assert settings == {
        "name": "大额新客",
        "condition": 'amount >= 50000 and customer_type == "new"',
    }
    assert panel.combine("", "or", "x == 1") == "x == 1"
    assert panel.combine("a == 1", "or", "x == 1") == "a == 1 or x == 1"
