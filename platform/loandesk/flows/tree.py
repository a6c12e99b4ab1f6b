"""A flow's tree (the shape the designer draws, like DingTalk's and Feishu's approval
designers): a sequence of nodes after the start, where a branch node holds branches that are
sequences again. ``parse`` turns the stored JSON into typed nodes and refuses, node by node,
whatever could not run: unknown assignees, a branch without a default, an expression naming no
field, nodes after an end that nothing can reach.

The JSON, as the API and the bundle carry it::

    {"nodes": [
      {"id": "n1", "type": "approver", "name": "信审",
       "assignees": [{"kind": "role", "role": "credit_officer"}],
       "mode": "any", "when_empty": "admin",
       "deadline": {"kind": "working_hours", "amount": 24}, "on_timeout": "remind"},
      {"id": "b1", "type": "branch", "name": "金额", "branches": [
        {"id": "b1a", "name": "大额", "condition": "amount >= 50000", "nodes": [...]},
        {"id": "b1z", "name": "其他", "default": true, "nodes": []}]},
      {"id": "c1", "type": "cc", "name": "抄送", "assignees": [...]},
      {"id": "a1", "type": "automation", "name": "标记", "action": "set_field",
       "field": "risk_level", "value": "high"},
      {"id": "e1", "type": "end", "outcome": "rejected"}]}

Reaching the end of the top-level sequence approves the record.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from loandesk.errors import ValidationFailed
from loandesk.expressions import Expression, ExpressionError, compile_expression
from loandesk.fields.validation import message
from loandesk.i18n import N_

NODE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
NODE_TYPES = ("approver", "branch", "cc", "automation", "end")
ASSIGNEE_KINDS = ("user", "role", "unit_head", "manager", "field")
MODES = ("any", "all", "sequence", "ratio")
WHEN_EMPTY = ("skip", "admin", "block")
DEADLINE_KINDS = ("hours", "working_hours", "working_days", "field")
TIMEOUT_ACTIONS = ("remind", "approve", "reject", "transfer")
AUTOMATION_ACTIONS = ("set_field",)
MAX_NODES = 200
MAX_DEPTH = 8
MAX_LEVELS = 10


@dataclass(frozen=True)
class Assignee:
    kind: str  # one of ASSIGNEE_KINDS
    user: uuid.UUID | None = None
    role: str | None = None
    unit: uuid.UUID | None = None
    levels: int = 1
    field: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        if self.kind == "user":
            data["user"] = str(self.user)
        elif self.kind == "role":
            data["role"] = self.role
        elif self.kind == "unit_head":
            data["unit"] = str(self.unit)
        elif self.kind == "manager":
            data["levels"] = self.levels
        else:
            data["field"] = self.field
        return data


@dataclass(frozen=True)
class Deadline:
    kind: str  # one of DEADLINE_KINDS
    amount: int = 0
    field: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.kind == "field":
            return {"kind": "field", "field": self.field}
        return {"kind": self.kind, "amount": self.amount}


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    name: str


@dataclass(frozen=True)
class Approver(Node):
    assignees: tuple[Assignee, ...] = ()
    mode: str = "any"
    ratio: int | None = None
    when_empty: str = "admin"
    deadline: Deadline | None = None
    on_timeout: str = "remind"
    timeout_user: uuid.UUID | None = None
    bulk: bool = False


@dataclass(frozen=True)
class Copy(Node):
    assignees: tuple[Assignee, ...] = ()


@dataclass(frozen=True)
class Automation(Node):
    action: str = "set_field"
    field: str = ""
    value: Any = None


@dataclass(frozen=True)
class End(Node):
    outcome: str = "approved"


@dataclass(frozen=True)
class Branch:
    id: str
    name: str
    condition: Expression | None  # None: the default branch
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Fork(Node):
    branches: tuple[Branch, ...] = ()

    def route(self, values: Mapping[str, Any]) -> Branch:
        """The first branch (in order) whose condition holds, else the default."""
        for branch in self.branches:
            if branch.condition is not None and branch.condition.holds(values):
                return branch
        return next(b for b in self.branches if b.condition is None)


@dataclass(frozen=True)
class Checks:
    """What a tree is checked against: the record type's fields (key -> kind, for conditions,
    and which of them name a staff member or a date) and what exists in the tenant."""

    kinds: Mapping[str, str]
    user_exists: Callable[[uuid.UUID], bool]
    role_exists: Callable[[str], bool]
    unit_exists: Callable[[uuid.UUID], bool]
    check_value: Callable[[str, Any], list[str]] = lambda key, value: []


@dataclass
class Tree:
    nodes: tuple[Node, ...]
    # where each node sits: its sequence, its index there, and the fork around it
    _places: dict[str, tuple[tuple[Node, ...], int, str | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        def place(seq: tuple[Node, ...], parent: str | None) -> None:
            for index, node in enumerate(seq):
                self._places[node.id] = (seq, index, parent)
                if isinstance(node, Fork):
                    for branch in node.branches:
                        place(branch.nodes, node.id)

        place(self.nodes, None)

    def node(self, node_id: str) -> Node:
        return self._places[node_id][0][self._places[node_id][1]]

    def __contains__(self, node_id: str) -> bool:
        return node_id in self._places

    def walk(self) -> Iterator[Node]:
        """Every node, in drawing order."""

        def visit(seq: tuple[Node, ...]) -> Iterator[Node]:
            for node in seq:
                yield node
                if isinstance(node, Fork):
                    for branch in node.branches:
                        yield from visit(branch.nodes)

        return visit(self.nodes)

    def first(self) -> Node | None:
        return self.nodes[0] if self.nodes else None

    def after(self, node_id: str) -> Node | None:
        """The node that follows ``node_id`` once it is done (None: the flow's end)."""
        seq, index, parent = self._places[node_id]
        if index + 1 < len(seq):
            return seq[index + 1]
        return self.after(parent) if parent is not None else None

    def enter(self, node: Node | None, values: Mapping[str, Any]) -> Node | None:
        """``node``, or for a fork the first node of the branch ``values`` take (passing
        through empty branches and nested forks)."""
        while isinstance(node, Fork):
            branch = node.route(values)
            node = branch.nodes[0] if branch.nodes else self.after(node.id)
        return node

    def path(self, values: Mapping[str, Any]) -> tuple[list[tuple[Node, str | None]], str]:
        """The nodes a record with ``values`` passes, each with the branch taken at forks,
        and the outcome (test runs): approvers, CCs and automations as they come."""
        visited: list[tuple[Node, str | None]] = []
        node = self.first()
        while node is not None:
            if isinstance(node, Fork):
                branch = node.route(values)
                visited.append((node, branch.id))
                node = branch.nodes[0] if branch.nodes else self.after(node.id)
                continue
            visited.append((node, None))
            if isinstance(node, End):
                return visited, node.outcome
            node = self.after(node.id)
        return visited, "approved"

    def to_json(self) -> dict[str, Any]:
        return {"nodes": [_node_json(n) for n in self.nodes]}


def _node_json(node: Node) -> dict[str, Any]:
    data: dict[str, Any] = {"id": node.id, "type": node.type, "name": node.name}
    if isinstance(node, Approver):
        data.update(
            assignees=[a.to_json() for a in node.assignees],
            mode=node.mode,
            when_empty=node.when_empty,
            bulk=node.bulk,
        )
        if node.mode == "ratio":
            data["ratio"] = node.ratio
        if node.deadline is not None:
            data["deadline"] = node.deadline.to_json()
            data["on_timeout"] = node.on_timeout
            if node.on_timeout == "transfer":
                data["timeout_user"] = str(node.timeout_user)
    elif isinstance(node, Copy):
        data["assignees"] = [a.to_json() for a in node.assignees]
    elif isinstance(node, Automation):
        data.update(action=node.action, field=node.field, value=node.value)
    elif isinstance(node, End):
        data["outcome"] = node.outcome
    elif isinstance(node, Fork):
        data["branches"] = [
            {
                "id": b.id,
                "name": b.name,
                **({"condition": b.condition.text} if b.condition else {"default": True}),
                "nodes": [_node_json(n) for n in b.nodes],
            }
            for b in node.branches
        ]
    return data


class _Parser:
    def __init__(self, checks: Checks) -> None:
        self.checks = checks
        self.errors: dict[str, list[str]] = {}
        self.seen: set[str] = set()
        self.count = 0

    def problem(self, where: str, text: str, **params: Any) -> None:
        self.errors.setdefault(where, []).append(message(text, **params))

    def sequence(self, raw: Any, where: str, depth: int) -> tuple[Node, ...]:
        if not isinstance(raw, list):
            self.problem(where, N_("Nodes must be a list."))
            return ()
        nodes: list[Node] = []
        ended: str | None = None
        for item in raw:
            node = self.node(item, depth)
            if node is None:
                continue
            if ended is not None:
                self.problem(
                    node.id, N_("Nothing can reach this node: it comes after an end node.")
                )
            if isinstance(node, End):
                ended = node.id
            nodes.append(node)
        return tuple(nodes)

    def node(self, raw: Any, depth: int) -> Node | None:
        self.count += 1
        if not isinstance(raw, dict):
            self.problem("nodes", N_("Each node must be an object."))
            return None
        node_id = raw.get("id")
        if not isinstance(node_id, str) or not NODE_ID.match(node_id):
            self.problem("nodes", N_("A node has no valid id."))
            return None
        if node_id in self.seen:
            self.problem(node_id, N_("Two nodes have the same id."))
            return None
        self.seen.add(node_id)
        name = raw.get("name") or ""
        if not isinstance(name, str) or len(name) > 100:
            self.problem(node_id, N_("Use a name of at most 100 characters."))
            name = ""
        kind = raw.get("type")
        if kind == "approver":
            return self.approver(node_id, name.strip(), raw)
        if kind == "cc":
            assignees = self.assignees(node_id, raw.get("assignees"))
            return Copy(node_id, "cc", name.strip(), assignees=assignees)
        if kind == "automation":
            return self.automation(node_id, name.strip(), raw)
        if kind == "end":
            outcome = raw.get("outcome", "approved")
            if outcome not in ("approved", "rejected"):
                self.problem(node_id, N_("An end node approves or rejects."))
            return End(node_id, "end", name.strip(), outcome=outcome)
        if kind == "branch":
            return self.fork(node_id, name.strip(), raw, depth)
        self.problem(node_id, N_("Unknown node type."))
        return None

    def approver(self, node_id: str, name: str, raw: dict[str, Any]) -> Approver:
        assignees = self.assignees(node_id, raw.get("assignees"))
        mode = raw.get("mode", "any")
        if mode not in MODES:
            self.problem(node_id, N_("Choose or-sign, countersign, in sequence or by ratio."))
            mode = "any"
        ratio = raw.get("ratio")
        if mode == "ratio":
            if not isinstance(ratio, int) or isinstance(ratio, bool) or not 1 <= ratio <= 100:
                self.problem(node_id, N_("The pass ratio is a whole percent from 1 to 100."))
                ratio = 100
        else:
            ratio = None
        when_empty = raw.get("when_empty", "admin")
        if when_empty not in WHEN_EMPTY:
            self.problem(node_id, N_("Choose what happens when nobody can approve."))
            when_empty = "admin"
        deadline = self.deadline(node_id, raw.get("deadline"))
        on_timeout = raw.get("on_timeout", "remind")
        timeout_user = None
        if deadline is not None:
            if on_timeout not in TIMEOUT_ACTIONS:
                self.problem(node_id, N_("Choose what happens when the deadline passes."))
                on_timeout = "remind"
            if on_timeout == "transfer":
                timeout_user = self.user(node_id, raw.get("timeout_user"))
        return Approver(
            node_id,
            "approver",
            name,
            assignees=assignees,
            mode=mode,
            ratio=ratio,
            when_empty=when_empty,
            deadline=deadline,
            on_timeout=on_timeout,
            timeout_user=timeout_user,
            bulk=bool(raw.get("bulk", False)),
        )

    def deadline(self, node_id: str, raw: Any) -> Deadline | None:
        if raw in (None, {}):
            return None
        if not isinstance(raw, dict) or raw.get("kind") not in DEADLINE_KINDS:
            self.problem(node_id, N_("Choose how the deadline is counted."))
            return None
        if raw["kind"] == "field":
            key = str(raw.get("field"))
            if self.checks.kinds.get(key) not in ("date", "datetime"):
                self.problem(node_id, N_("The deadline field must be a date field of the form."))
                return None
            return Deadline("field", field=key)
        amount = raw.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= 8760:
            self.problem(node_id, N_("The deadline is a whole number from 1 to 8760."))
            return None
        return Deadline(raw["kind"], amount=amount)

    def user(self, node_id: str, raw: Any) -> uuid.UUID | None:
        try:
            user_id = uuid.UUID(str(raw))
        except ValueError:
            self.problem(node_id, N_("Choose a staff member."))
            return None
        if not self.checks.user_exists(user_id):
            self.problem(node_id, N_("This staff member does not exist or is deactivated."))
            return None
        return user_id

    def assignees(self, node_id: str, raw: Any) -> tuple[Assignee, ...]:
        if not isinstance(raw, list) or not raw:
            self.problem(node_id, N_("Choose who this node goes to."))
            return ()
        found: list[Assignee] = []
        for item in raw[:50]:
            kind = item.get("kind") if isinstance(item, dict) else None
            if kind == "user":
                user_id = self.user(node_id, item.get("user"))
                if user_id is not None:
                    found.append(Assignee("user", user=user_id))
            elif kind == "role":
                role = item.get("role")
                if not isinstance(role, str) or not self.checks.role_exists(role):
                    self.problem(node_id, N_("No role is called %(role)s."), role=str(role))
                else:
                    found.append(Assignee("role", role=role))
            elif kind == "unit_head":
                try:
                    unit = uuid.UUID(str(item.get("unit")))
                except ValueError:
                    unit = None
                if unit is None or not self.checks.unit_exists(unit):
                    self.problem(node_id, N_("Choose an org unit."))
                else:
                    found.append(Assignee("unit_head", unit=unit))
            elif kind == "manager":
                levels = item.get("levels", 1)
                if not isinstance(levels, int) or not 1 <= levels <= MAX_LEVELS:
                    self.problem(node_id, N_("The manager level is from 1 to 10."))
                else:
                    found.append(Assignee("manager", levels=levels))
            elif kind == "field":
                key = item.get("field")
                if self.checks.kinds.get(key) != "user":
                    self.problem(
                        node_id,
                        N_("No staff-member field is called %(name)s."),
                        name=str(key),
                    )
                else:
                    found.append(Assignee("field", field=key))
            else:
                self.problem(node_id, N_("Unknown kind of assignee."))
        return tuple(found)

    def automation(self, node_id: str, name: str, raw: dict[str, Any]) -> Automation:
        action = raw.get("action")
        key = raw.get("field")
        value = raw.get("value")
        if action not in AUTOMATION_ACTIONS:
            self.problem(node_id, N_("Choose what this automation does."))
        elif not isinstance(key, str) or key not in self.checks.kinds:
            self.problem(node_id, N_("No field is called %(name)s."), name=str(key))
        else:
            for problem in self.checks.check_value(key, value):  # already in the user's words
                self.errors.setdefault(node_id, []).append(problem)
        return Automation(
            node_id, "automation", name, action=str(action), field=str(key or ""), value=value
        )

    def fork(self, node_id: str, name: str, raw: dict[str, Any], depth: int) -> Fork | None:
        if depth >= MAX_DEPTH:
            self.problem(node_id, N_("Branches are nested too deeply."))
            return None
        raw_branches = raw.get("branches")
        if not isinstance(raw_branches, list) or len(raw_branches) < 2:
            self.problem(node_id, N_("A condition node needs at least two branches."))
            return None
        branches: list[Branch] = []
        defaults = 0
        for item in raw_branches:
            if not isinstance(item, dict):
                self.problem(node_id, N_("Each branch must be an object."))
                continue
            branch_id = item.get("id")
            if not isinstance(branch_id, str) or not NODE_ID.match(branch_id):
                self.problem(node_id, N_("A branch has no valid id."))
                continue
            if branch_id in self.seen:
                self.problem(branch_id, N_("Two nodes have the same id."))
                continue
            self.seen.add(branch_id)
            condition = None
            if item.get("default"):
                defaults += 1
            else:
                condition = self.condition(branch_id, item.get("condition"))
            nodes = self.sequence(item.get("nodes", []), branch_id, depth + 1)
            branch_name = str(item.get("name") or "")[:100].strip()
            branches.append(Branch(branch_id, branch_name, condition, nodes))
        if defaults == 0:
            self.problem(node_id, N_("A condition node needs a default branch."))
        elif defaults > 1:
            self.problem(node_id, N_("A condition node has only one default branch."))
        return Fork(node_id, "branch", name, branches=tuple(branches))

    def condition(self, branch_id: str, text: Any) -> Expression | None:
        if not isinstance(text, str) or not text.strip():
            self.problem(branch_id, N_("Enter the condition of this branch."))
            return None
        try:
            return compile_expression(text, self.checks.kinds)
        except ExpressionError as problem:
            self.problem(branch_id, problem.message, **problem.params)
            return None


def parse(data: Any, checks: Checks) -> Tree:
    """The tree ``data`` describes, or ``ValidationFailed`` whose ``errors`` are keyed by node
    (or branch) id, each with what is wrong there."""
    parser = _Parser(checks)
    raw = data.get("nodes") if isinstance(data, dict) else None
    if raw is None:
        raise ValidationFailed(N_("A flow is an object with a list of nodes."))
    nodes = parser.sequence(raw, "nodes", 0)
    if parser.count > MAX_NODES:
        parser.problem("nodes", N_("A flow has at most %(limit)s nodes."), limit=MAX_NODES)
    tree = Tree(nodes)
    if not parser.errors and not any(isinstance(n, Approver) for n in tree.walk()):
        parser.problem("nodes", N_("Add at least one approver node."))
    if parser.errors:
        raise ValidationFailed(
            N_("The flow has problems; see the marked nodes."), errors=parser.errors
        )
    return tree


def load(data: Mapping[str, Any], kinds: Mapping[str, str]) -> Tree:
    """A published tree, read back without looking up users and roles again (they were
    checked when it was published; who exists now is the assignee resolver's concern)."""
    checks = Checks(
        kinds=kinds,
        user_exists=lambda _u: True,
        role_exists=lambda _r: True,
        unit_exists=lambda _u: True,
    )
    return _Loose(checks).tree(data)


class _Loose(_Parser):
    """Parses without failing: a field removed since publishing makes its condition never
    hold (and its branch never taken) instead of breaking running instances."""

    def tree(self, data: Mapping[str, Any]) -> Tree:
        return Tree(self.sequence(list(data.get("nodes", [])), "nodes", 0))

    def condition(self, branch_id: str, text: Any) -> Expression | None:
        try:
            return compile_expression(str(text), self.checks.kinds)
        except ExpressionError:
            return compile_expression("false", {})
