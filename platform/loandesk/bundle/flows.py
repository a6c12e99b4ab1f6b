"""Approval flows in a bundle: ``flows/<record type>.yaml`` for each record type whose flow
has a published version (see tenants/README.md).

A file holds the flow's name and the tree in force, as the API carries it, except where the
tree names something of the tenant by id: a staff member is named by e-mail and an org unit
by its path of names below the company (``[]`` for the company itself), so that the file
applies to another tenant or install. Roles are named by key already.

Checking turns those names back into the target tenant's ids (units and roles the bundle's
own ``org.yaml`` and ``roles.yaml`` bring count) and checks the tree as publishing does, per
node. Applying saves the tree as the draft and publishes it as the next version, only when it
differs from the version in force (a draft in progress is then replaced).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.auth import users
from loandesk.auth.models import User
from loandesk.bundle.model import BundleInvalid, flow_file_name, flow_type_of
from loandesk.errors import ValidationFailed
from loandesk.fields.forms import Form, published_form
from loandesk.fields.registry import RecordType
from loandesk.flows import definitions, engine
from loandesk.flows.tree import Checks
from loandesk.flows.tree import parse as parse_tree
from loandesk.rbac.models import Role
from loandesk.rbac.org import Tree as OrgTree

Change = Callable[..., Any]  # ``_Run.change``: (file, path, summary, do, *args, **kw)
NOTE = "tenant bundle"
_PLACEHOLDERS = uuid.UUID("6c1f3c3e-0d55-4e0b-9d7e-7f1b3b0c0a11")  # ids of units to come


# --- names <-> ids --------------------------------------------------------------------------


def _convert(
    nodes: Any,
    user: Callable[[Any], Any],
    unit: Callable[[Any], Any],
    visiting: Callable[[str], None] = lambda node_id: None,
) -> list[Any]:
    """A copy of ``nodes`` with every staff member and org unit passed through ``user`` and
    ``unit`` (ids to names on export, names to ids on apply); anything else as it is.
    ``visiting`` hears each node's id before its names are passed."""

    def node(raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        visiting(str(raw.get("id")))
        found = copy.deepcopy(raw)
        assignees = found.get("assignees")
        for item in assignees if isinstance(assignees, list) else ():
            if isinstance(item, dict) and item.get("kind") == "user" and "user" in item:
                item["user"] = user(item["user"])
            elif isinstance(item, dict) and item.get("kind") == "unit_head" and "unit" in item:
                item["unit"] = unit(item["unit"])
        if "timeout_user" in found:
            found["timeout_user"] = user(found["timeout_user"])
        branches = found.get("branches")
        for branch in branches if isinstance(branches, list) else ():
            if isinstance(branch, dict) and isinstance(branch.get("nodes"), list):
                branch["nodes"] = [node(n) for n in branch["nodes"]]
        return found

    return [node(n) for n in nodes] if isinstance(nodes, list) else []


def _unit_paths(session: Session) -> dict[uuid.UUID, tuple[str, ...]]:
    """Each org unit's path of names below the company."""
    org = OrgTree.load(session)
    return {unit_id: tuple(u.name for u in org.path(unit_id)[1:]) for unit_id in org.units}


def bundle_paths(bundle: Mapping[str, Mapping[str, Any]]) -> set[tuple[str, ...]]:
    """The unit paths the bundle's ``org.yaml`` names (created on apply when missing)."""
    found: set[tuple[str, ...]] = set()

    def visit(unit: Mapping[str, Any], path: tuple[str, ...]) -> None:
        found.add(path)
        for child in unit.get("units", ()):
            visit(child, (*path, child["name"]))

    company = bundle.get("org.yaml", {}).get("company")
    if company is not None:
        visit(company, ())
    return found


class _Names:
    """Turns a file's e-mails and unit paths into the tenant's ids, noting what is missing."""

    def __init__(self, session: Session, planned_units: Iterable[tuple[str, ...]] = ()) -> None:
        self.session = session
        self.units = {path: unit_id for unit_id, path in _unit_paths(session).items()}
        self.planned = {p: uuid.uuid5(_PLACEHOLDERS, "/".join(p)) for p in planned_units}
        self.unit_ids = {*self.units.values(), *self.planned.values()}
        self.missing: list[tuple[str, str]] = []  # (node id, problem)
        self.node_id = "nodes"

    def user(self, email: Any) -> Any:
        # an inactive staff member is found: the tree check refuses them where the tree
        # changes, and a flow in force that still names one is left as it is
        found = users.find_by_email(self.session, str(email)) if email else None
        if found is None:
            self.missing.append((self.node_id, f"no staff member {email!r} in this tenant"))
            return None
        return str(found.id)

    def unit(self, path: Any) -> Any:
        key = tuple(str(p) for p in path) if isinstance(path, list) else None
        if key is not None and key in self.units:
            return str(self.units[key])
        if key is not None and key in self.planned:
            return str(self.planned[key])
        shown = " / ".join(key) if key else repr(path)
        self.missing.append((self.node_id, f"no org unit {shown} (a path of names)"))
        return None

    def inward(self, nodes: Sequence[Any]) -> list[Any]:
        return _convert(nodes, self.user, self.unit, self._visiting)

    def _visiting(self, node_id: str) -> None:
        self.node_id = node_id  # the node a missing name is reported in


# --- export -------------------------------------------------------------------------------


def export_files(session: Session, record_types: Sequence[RecordType]) -> dict[str, dict[str, Any]]:
    """A file for each record type with a published flow, by file name."""
    found = [
        (t, engine.published(session, t.key))
        for t in sorted(record_types, key=lambda t: t.key)
        if t.on_flow is not None
    ]
    if not any(version for _, version in found):
        return {}
    emails = {user_id: email for user_id, email in session.execute(select(User.id, User.email))}
    paths = _unit_paths(session)

    def email(value: Any) -> Any:
        return emails.get(_as_uuid(value), value)  # a user since erased stays an id: refused

    def unit(value: Any) -> Any:
        path = paths.get(_as_uuid(value))  # a unit since deleted, likewise
        return list(path) if path is not None else value

    return {
        flow_file_name(t.key): {
            "name": version.name,
            "nodes": _convert(version.tree.get("nodes", []), email, unit),
        }
        for t, version in found
        if version is not None
    }


def _as_uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return uuid.UUID(int=0)  # names nothing


# --- check --------------------------------------------------------------------------------


def problems(
    session: Session,
    bundle: Mapping[str, Mapping[str, Any]],
    record_types: Mapping[str, RecordType],
) -> Iterator[str]:
    """What is wrong with the bundle's flows files; ``record_types``: the enabled record
    types as they will be once the bundle is applied (with the bundle's custom fields)."""
    roles = {r["key"] for r in bundle.get("roles.yaml", {}).get("roles", ())}
    roles.update(session.scalars(select(Role.key)))
    planned = bundle_paths(bundle)
    for name, data in bundle.items():
        key = flow_type_of(name)
        if key is None:
            continue
        record_type = record_types.get(key)
        if record_type is None or record_type.on_flow is None:
            yield (
                f"{name}: (top): {key!r} is not a record type with an approval flow,"
                " or its plugin is not enabled"
            )
            continue
        names = _Names(session, planned)
        nodes = names.inward(data["nodes"])
        for node_id, problem in names.missing:
            yield f"{name}: nodes.{node_id}: {problem}"
        if names.missing or _unchanged(session, key, data["name"], nodes):
            continue
        form = Form(record_type, ())
        checks = replace(
            definitions.checks_for(session, form),
            role_exists=roles.__contains__,
            unit_exists=names.unit_ids.__contains__,
        )
        yield from _tree_problems(name, nodes, checks)


def _tree_problems(name: str, nodes: list[Any], checks: Checks) -> Iterator[str]:
    try:
        parse_tree({"nodes": nodes}, checks)
    except ValidationFailed as failed:
        found = failed.errors or {"nodes": [failed.message]}
        for where, messages in found.items():
            for text in messages:
                yield f"{name}: {'nodes' if where == 'nodes' else 'nodes.' + where}: {text}"


def _unchanged(session: Session, record_type: str, name: str, tree: Any) -> bool:
    in_force = engine.published(session, record_type)
    return in_force is not None and in_force.name == name and in_force.tree == {"nodes": tree}


# --- apply --------------------------------------------------------------------------------


def apply_file(
    change: Change, session: Session, name: str, record_type: RecordType, data: Mapping[str, Any]
) -> None:
    """Publish the file's flow as the next version of ``record_type`` when it differs from the
    version in force (same name and same tree as publishing stores it: nothing to do)."""
    names = _Names(session)
    nodes = names.inward(data["nodes"])
    if names.missing:  # checked before: only a change made since could cause it
        raise BundleInvalid([f"{name}: nodes.{n}: {p}" for n, p in names.missing])
    if _unchanged(session, record_type.key, data["name"], nodes):
        return
    form = published_form(session, record_type)
    checks = definitions.checks_for(session, form)
    refused = list(_tree_problems(name, nodes, checks))
    if refused:  # a field the bundle adds but leaves unpublished, say
        raise BundleInvalid(refused)
    tree = parse_tree({"nodes": nodes}, checks).to_json()
    in_force = engine.published(session, record_type.key)
    if in_force is not None and in_force.name == data["name"] and in_force.tree == tree:
        return
    latest = definitions.versions(session, record_type.key)
    summary = f"publish version {latest[0].number + 1 if latest else 1}: "
    summary += diff(in_force.tree if in_force else None, tree)
    if in_force is not None and in_force.name != data["name"]:
        summary += f"; name {in_force.name!r} → {data['name']!r}"
    change(name, "nodes", summary, _publish, session, record_type, form, data["name"], tree)


def _publish(
    session: Session, record_type: RecordType, form: Form, name: str, tree: dict[str, Any]
) -> None:
    definitions.save_draft(session, record_type, form, tree, name=name)
    definitions.publish(session, record_type, form, note=NOTE)


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> str:
    """What changes between two trees, by node id: "added n3; changed n1; removed b1"."""
    old, new = _flat(before or {}), _flat(after)
    if before is None:
        return f"new flow, {len(new)} nodes"
    parts = []
    for label, ids in (
        ("added", [i for i in new if i not in old]),
        ("changed", [i for i in new if i in old and old[i] != new[i]]),
        ("removed", [i for i in old if i not in new]),
    ):
        if ids:
            parts.append(f"{label} {', '.join(ids)}")
    if not parts and [n.get("id") for n in before.get("nodes", [])] != [
        n.get("id") for n in after.get("nodes", [])
    ]:
        parts.append("nodes reordered")
    return "; ".join(parts) or "no node changed"


def _flat(tree: Mapping[str, Any]) -> dict[str, Any]:
    """Every node by id, a branch node holding its branches' node ids instead of the nodes."""
    found: dict[str, Any] = {}

    def visit(nodes: Sequence[Mapping[str, Any]]) -> None:
        for node in nodes:
            entry = dict(node)
            if "branches" in entry:
                entry["branches"] = [
                    {**b, "nodes": [n.get("id") for n in b.get("nodes", [])]}
                    for b in node["branches"]
                ]
                for branch in node["branches"]:
                    visit(branch.get("nodes", []))
            found[str(node.get("id"))] = entry

    visit(tree.get("nodes", []))
    return found
