"""Editing a flow's draft tree (the JSON of ``loandesk.flows.tree``) by node id: the designer's
"+" inserts a node, a card's × deletes it, a condition node gains branches and reorders them,
and the side panel replaces a node's settings. Pure functions on plain JSON: each returns a
new tree and leaves its argument as it was; an id that is not in the tree is ``EditError``.

A sequence is named by where it sits: ``ROOT`` for the flow's top level, else the id of the
branch that holds it. A condition node keeps its default branch (其他情况) last: it is taken
only when no other branch's condition holds, so the others are the ones whose order matters.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from loandesk.i18n import N_

ROOT = ""
KINDS = ("approver", "branch", "cc", "automation", "end")


class EditError(LookupError):
    """An edit that cannot be made (an unknown id, a default branch that must stay)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Place:
    """Where a node or a branch sits: its list (a sequence, or a fork's branches), its index
    there, and for a node inside a branch, that branch's condition node."""

    items: list[Any]
    index: int
    fork: dict[str, Any] | None


def _nodes(tree: dict[str, Any]) -> list[Any]:
    nodes = tree.get("nodes")
    if not isinstance(nodes, list):
        raise EditError(N_("A flow is an object with a list of nodes."))
    return nodes


def _walk(seq: list[Any], fork: dict[str, Any] | None) -> Iterator[tuple[dict[str, Any], Place]]:
    """Every node and branch (as dicts) with its place, in drawing order."""
    for index, node in enumerate(seq):
        if not isinstance(node, dict):
            continue
        yield node, Place(seq, index, fork)
        branches = node.get("branches") if node.get("type") == "branch" else None
        if isinstance(branches, list):
            for b_index, branch in enumerate(branches):
                if not isinstance(branch, dict):
                    continue
                yield branch, Place(branches, b_index, node)
                inner = branch.get("nodes")
                if isinstance(inner, list):
                    yield from _walk(inner, node)


def ids(tree: dict[str, Any]) -> set[str]:
    """Every node and branch id in ``tree``."""
    return {str(item.get("id")) for item, _ in _walk(_nodes(tree), None) if item.get("id")}


def find(tree: dict[str, Any], item_id: str) -> tuple[dict[str, Any], Place]:
    """The node or branch ``item_id`` and its place (``EditError`` when there is none)."""
    for item, place in _walk(_nodes(tree), None):
        if item.get("id") == item_id:
            return item, place
    raise EditError(N_("This node is no longer in the flow; the page was out of date."))


def is_branch(item: dict[str, Any], place: Place) -> bool:
    """Whether ``item`` is a branch of a condition node (not a node of a sequence)."""
    return place.fork is not None and place.items is place.fork.get("branches")


def new_id(tree: dict[str, Any], prefix: str = "n", also: set[str] | None = None) -> str:
    """A fresh id: ``prefix`` and random hex, used neither in ``tree`` nor in ``also``."""
    taken = ids(tree) | (also or set())
    while True:
        candidate = prefix + secrets.token_hex(4)
        if candidate not in taken:
            return candidate


def new_node(tree: dict[str, Any], kind: str, names: dict[str, str]) -> dict[str, Any]:
    """A node of ``kind`` as the "+" menu adds it, named from ``names`` (the user's language:
    kind -> name, and "branch_1" / "default" for a new condition node's two branches). A
    condition node comes with a branch whose condition is still to be written and the
    default branch (其他情况)."""
    if kind not in KINDS:
        raise EditError(N_("Unknown node type."))
    node: dict[str, Any] = {"id": new_id(tree), "type": kind, "name": names.get(kind, "")}
    if kind == "approver":
        node.update(assignees=[], mode="any", when_empty="admin", bulk=False)
    elif kind == "cc":
        node["assignees"] = []
    elif kind == "automation":
        node.update(action="set_field", field="", value=None)
    elif kind == "end":
        node["outcome"] = "approved"
    else:
        first: dict[str, Any] = {
            "id": new_id(tree, "b", also={node["id"]}),
            "name": names.get("branch_1", ""),
            "condition": "",
            "nodes": [],
        }
        default_id = new_id(tree, "b", also={node["id"], first["id"]})
        default = {"id": default_id, "name": names.get("default", ""), "default": True, "nodes": []}
        node["branches"] = [first, default]
    return node


def sequence(tree: dict[str, Any], where: str) -> list[Any]:
    """The sequence ``where`` names (``ROOT`` or a branch id), in ``tree`` itself."""
    if where == ROOT:
        return _nodes(tree)
    item, place = find(tree, where)
    if not is_branch(item, place):
        raise EditError(N_("This node is no longer in the flow; the page was out of date."))
    nodes = item.setdefault("nodes", [])
    if not isinstance(nodes, list):
        raise EditError(N_("Nodes must be a list."))
    return nodes


def insert(tree: dict[str, Any], where: str, after: str, node: dict[str, Any]) -> dict[str, Any]:
    """``tree`` with ``node`` in the sequence ``where``, right after the node ``after`` (first
    in the sequence when ``after`` is empty)."""
    result = copy.deepcopy(tree)
    seq = sequence(result, where)
    if not after:
        seq.insert(0, copy.deepcopy(node))
        return result
    for index, item in enumerate(seq):
        if isinstance(item, dict) and item.get("id") == after:
            seq.insert(index + 1, copy.deepcopy(node))
            return result
    raise EditError(N_("This node is no longer in the flow; the page was out of date."))


def delete(tree: dict[str, Any], item_id: str) -> dict[str, Any]:
    """``tree`` without the node or branch ``item_id`` (and what it holds). Deleting one of a
    condition node's last two branches leaves no choice to make: the condition node gives
    way to the other branch's nodes. The default branch cannot go while others remain."""
    result = copy.deepcopy(tree)
    item, place = find(result, item_id)
    if not is_branch(item, place):
        del place.items[place.index]
        return result
    assert place.fork is not None  # a branch always has its condition node
    branches = place.items
    if len(branches) <= 2:
        others = [b for b in branches if b is not item]
        kept = others[0].get("nodes", []) if others and isinstance(others[0], dict) else []
        _, fork_place = find(result, str(place.fork.get("id")))
        fork_place.items[fork_place.index : fork_place.index + 1] = list(kept or [])
        return result
    if item.get("default"):
        raise EditError(
            N_("The default branch (other cases) stays while the condition node has others.")
        )
    del branches[place.index]
    return result


def add_branch(tree: dict[str, Any], fork_id: str, name: str) -> tuple[dict[str, Any], str]:
    """``tree`` with a new branch (condition still to be written) before the default branch
    of the condition node ``fork_id``; and the new branch's id."""
    result = copy.deepcopy(tree)
    fork, _ = find(result, fork_id)
    branches = fork.get("branches")
    if fork.get("type") != "branch" or not isinstance(branches, list):
        raise EditError(N_("Only a condition node has branches."))
    branch = {"id": new_id(result, "b"), "name": name, "condition": "", "nodes": []}
    at = next(
        (i for i, b in enumerate(branches) if isinstance(b, dict) and b.get("default")),
        len(branches),
    )
    branches.insert(at, branch)
    return result, str(branch["id"])


def move_branch(tree: dict[str, Any], branch_id: str, step: int) -> dict[str, Any]:
    """``tree`` with the branch ``branch_id`` one place earlier (``step`` -1: its condition is
    tried sooner) or later (+1); the default branch stays last, and an edge stays put."""
    result = copy.deepcopy(tree)
    item, place = find(result, branch_id)
    if not is_branch(item, place):
        raise EditError(N_("Only a condition node has branches."))
    if item.get("default"):
        raise EditError(N_("The default branch is always tried last."))
    branches = place.items
    other = place.index + (-1 if step < 0 else 1)
    if 0 <= other < len(branches) and not (
        isinstance(branches[other], dict) and branches[other].get("default")
    ):
        branches[place.index], branches[other] = branches[other], branches[place.index]
    return result


def replace(tree: dict[str, Any], item_id: str, settings: dict[str, Any]) -> dict[str, Any]:
    """``tree`` with the node or branch ``item_id`` set to ``settings`` (what the side panel
    edits); its id, type, a condition node's branches and a branch's nodes are kept."""
    result = copy.deepcopy(tree)
    item, place = find(result, item_id)
    kept = {"id": item.get("id")}
    if is_branch(item, place):
        kept["nodes"] = item.get("nodes", [])
        if item.get("default"):
            kept["default"] = True
            settings = {k: v for k, v in settings.items() if k != "condition"}
    else:
        kept["type"] = item.get("type")
        if item.get("type") == "branch":
            kept["branches"] = item.get("branches", [])
    fresh = {**copy.deepcopy(settings), **kept}
    # the JSON's own order: id and type first, as the tree writes it
    ordered: dict[str, Any] = {k: fresh[k] for k in ("id", "type", "name") if k in fresh}
    ordered.update({k: v for k, v in fresh.items() if k not in ordered})
    place.items[place.index] = ordered
    return result
