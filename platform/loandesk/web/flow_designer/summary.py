"""What the designer's cards say: each node and branch of a draft in plain words
("信审专员（角色）· 或签", "申请金额 < 50000", "超时 24 工作小时后自动提醒"), with the problems
publishing would refuse it for. Built from the raw draft, which may be incomplete or wrong
anywhere: nothing here assumes a field is present or well-formed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.auth.models import User
from loandesk.fields.forms import Form
from loandesk.rbac.models import OrgUnit, Role

_STRINGS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|==|!=|<=|>=")
_SYMBOLS = {"==": "=", "!=": "≠", "<=": "≤", ">=": "≥"}


@dataclass(frozen=True)
class Names:
    """What ids and keys are called, for the cards and the panel's pickers: active staff,
    roles, org units (with their heads), and the form's fields."""

    users: Mapping[str, str]
    roles: Mapping[str, str]
    units: Mapping[str, str]
    fields: Mapping[str, str]
    unit_heads: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, form: Form, locale: str) -> Names:
        zh = locale.startswith("zh")
        users = {
            str(u.id): u.display_name
            for u in session.scalars(
                select(User).where(User.status == "active").order_by(User.display_name, User.id)
            )
        }
        roles = {
            r.key: (r.name_zh if zh else r.name_en)
            for r in session.scalars(select(Role).order_by(Role.builtin.desc(), Role.key))
        }
        units = list(session.scalars(select(OrgUnit).order_by(OrgUnit.position, OrgUnit.name)))
        return cls(
            users=users,
            roles=roles,
            units={str(u.id): u.name for u in units},
            fields={f.key: f.label(locale) for f in form.fields},
            unit_heads={
                str(u.id): users.get(str(u.head_user_id), "") for u in units if u.head_user_id
            },
        )

    def user(self, user_id: Any) -> str:
        return self.users.get(str(user_id)) or gettext("(unknown or deactivated staff member)")


def assignee(item: Any, names: Names) -> str:
    """One assignee of an approver or CC node, in words."""
    if not isinstance(item, Mapping):
        return "?"
    kind = item.get("kind")
    if kind == "user":
        return names.user(item.get("user"))
    if kind == "role":
        role = str(item.get("role"))
        return gettext("%(name)s (role)", name=names.roles.get(role, role))
    if kind == "unit_head":
        unit = names.units.get(str(item.get("unit")), "?")
        return gettext("Head of %(unit)s", unit=unit)
    if kind == "manager":
        levels = item.get("levels", 1)
        if levels == 1:
            return gettext("The submitter's direct manager")
        return gettext("The submitter's manager, %(levels)s levels up", levels=levels)
    if kind == "field":
        key = str(item.get("field"))
        return gettext("%(name)s (form field)", name=names.fields.get(key, key))
    return "?"


def assignees(items: Any, names: Names) -> str:
    if not isinstance(items, list):
        return ""
    return gettext(", ").join(assignee(a, names) for a in items)


def mode(node: Mapping[str, Any]) -> str:
    found = node.get("mode", "any")
    if found == "all":
        return gettext("Countersign (all must approve)")
    if found == "sequence":
        return gettext("In sequence")
    if found == "ratio":
        return gettext("By ratio (%(ratio)s%% must approve)", ratio=node.get("ratio") or "?")
    return gettext("Or-sign (any one decides)")


def short_mode(node: Mapping[str, Any]) -> str:
    found = node.get("mode", "any")
    if found == "all":
        return gettext("Countersign")
    if found == "sequence":
        return gettext("In sequence")
    if found == "ratio":
        return gettext("By ratio %(ratio)s%%", ratio=node.get("ratio") or "?")
    return gettext("Or-sign")


def timeout_action(node: Mapping[str, Any], names: Names) -> str:
    action = node.get("on_timeout", "remind")
    if action == "approve":
        return gettext("approve automatically")
    if action == "reject":
        return gettext("reject automatically")
    if action == "transfer":
        return gettext("transfer to %(name)s", name=names.user(node.get("timeout_user")))
    return gettext("remind the approvers")


def deadline(node: Mapping[str, Any], names: Names) -> str:
    """The deadline and what happens when it passes; empty without a deadline."""
    found = node.get("deadline")
    if not isinstance(found, Mapping) or not found.get("kind"):
        return ""
    action = timeout_action(node, names)
    amount = found.get("amount", "?")
    kind = found.get("kind")
    if kind == "hours":
        return gettext("After %(amount)s hours: %(action)s", amount=amount, action=action)
    if kind == "working_hours":
        return gettext("After %(amount)s working hours: %(action)s", amount=amount, action=action)
    if kind == "working_days":
        return gettext("After %(amount)s working days: %(action)s", amount=amount, action=action)
    key = str(found.get("field"))
    return gettext(
        "When %(field)s is reached: %(action)s", field=names.fields.get(key, key), action=action
    )


def condition(text: Any, names: Names) -> str:
    """An expression with field labels for keys and plain symbols (金额 ≥ 50000 且 ...)."""
    if not isinstance(text, str):
        return ""
    words = {"and": gettext("AND"), "or": gettext("OR"), "not": gettext("NOT")}

    def plain(part: str) -> str:
        def swap(match: re.Match[str]) -> str:
            word = match.group(0)
            return _SYMBOLS.get(word) or words.get(word) or names.fields.get(word, word)

        return _WORDS.sub(swap, part)

    out, last = [], 0
    for literal in _STRINGS.finditer(text):
        out.append(plain(text[last : literal.start()]))
        out.append(literal.group(0))
        last = literal.end()
    out.append(plain(text[last:]))
    return " ".join("".join(out).split())


def lines(node: Mapping[str, Any], names: Names) -> list[str]:
    """What a node's card says under its name."""
    kind = node.get("type")
    if kind == "approver":
        who = assignees(node.get("assignees"), names)
        found = [
            gettext("%(who)s · %(mode)s", who=who, mode=short_mode(node))
            if who
            else gettext("Choose who approves")
        ]
        if text := deadline(node, names):
            found.append(text)
        return found
    if kind == "cc":
        who = assignees(node.get("assignees"), names)
        return [who or gettext("Choose who gets a copy")]
    if kind == "automation":
        key = str(node.get("field") or "")
        if not key:
            return [gettext("Choose a field to set")]
        value = node.get("value")
        return [
            gettext(
                "Set %(field)s to %(value)s",
                field=names.fields.get(key, key),
                value="—" if value in (None, "") else value,
            )
        ]
    if kind == "end":
        if node.get("outcome") == "rejected":
            return [gettext("The flow ends here: rejected")]
        return [gettext("The flow ends here: approved")]
    return []


@dataclass
class BranchCard:
    id: str
    name: str
    default: bool
    text: str  # the condition in words
    problems: list[str]
    nodes: list[Card]
    priority: int
    last: bool = False  # the last branch that has a condition (cannot move down)


@dataclass
class Card:
    id: str
    type: str
    name: str
    lines: list[str]
    problems: list[str]
    branches: list[BranchCard] = field(default_factory=list)


def cards(draft: Mapping[str, Any], names: Names, problems: Mapping[str, list[str]]) -> list[Card]:
    """The draft as the canvas draws it; nodes without an id are left out (their problem is
    listed with the flow's own problems)."""

    def sequence(raw: Any) -> list[Card]:
        found = []
        for node in raw if isinstance(raw, list) else []:
            if not isinstance(node, Mapping) or not isinstance(node.get("id"), str):
                continue
            card = Card(
                id=node["id"],
                type=str(node.get("type")),
                name=str(node.get("name") or ""),
                lines=lines(node, names),
                problems=list(problems.get(node["id"], [])),
            )
            if card.type == "branch":
                card.branches = branches(node.get("branches"))
            found.append(card)
        return found

    def branches(raw: Any) -> list[BranchCard]:
        items = [b for b in raw if isinstance(b, Mapping)] if isinstance(raw, list) else []
        found = []
        for index, branch in enumerate(items, start=1):
            default = bool(branch.get("default"))
            text = (
                gettext("Other cases (when no condition above holds)")
                if default
                else condition(branch.get("condition"), names) or gettext("Write the condition")
            )
            branch_id = str(branch.get("id") or "")
            found.append(
                BranchCard(
                    id=branch_id,
                    name=str(branch.get("name") or ""),
                    default=default,
                    text=text,
                    problems=list(problems.get(branch_id, [])),
                    nodes=sequence(branch.get("nodes")),
                    priority=index,
                )
            )
        conditional = [b for b in found if not b.default]
        if conditional:
            conditional[-1].last = True
        return found

    return sequence(draft.get("nodes"))


def flat(found: list[Card]) -> list[tuple[str, str, list[str]]]:
    """``(id, name, problems)`` of every card and branch with problems, in drawing order."""
    out: list[tuple[str, str, list[str]]] = []
    for card in found:
        if card.problems:
            out.append((card.id, card.name, card.problems))
        for branch in card.branches:
            if branch.problems:
                out.append((branch.id, branch.name, branch.problems))
            out += flat(branch.nodes)
    return out


def known_ids(found: list[Card]) -> set[str]:
    ids: set[str] = set()
    for card in found:
        ids.add(card.id)
        for branch in card.branches:
            ids.add(branch.id)
            ids |= known_ids(branch.nodes)
    return ids
