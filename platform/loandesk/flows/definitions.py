"""Designing and publishing flows: a record type's draft tree is saved as often as the
designer likes (problems are reported per node, not refused), and publishing checks it
strictly and writes the next immutable version. Running instances stay on their version."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import audit, events
from loandesk.errors import Conflict, NotFound, ValidationFailed
from loandesk.fields.forms import Form
from loandesk.fields.registry import RecordType
from loandesk.fields.validation import message
from loandesk.fields.values import Invalid, parse
from loandesk.flows import assignees
from loandesk.flows.engine import decode, encode
from loandesk.flows.models import FlowDefinition, FlowVersion
from loandesk.flows.tree import Approver, Checks, Copy, Node, Tree
from loandesk.flows.tree import parse as parse_tree
from loandesk.i18n import N_
from loandesk.rbac.models import OrgUnit, Role

MAX_DRAFT_BYTES = 200_000


def checks_for(session: Session, form: Form) -> Checks:
    """What a tree of ``form``'s record type is checked against, in the current tenant."""
    settable = {
        f.key: f for f in form.custom_fields if not f.computed and not f.encrypted and f.custom
    }

    def user_exists(user_id: uuid.UUID) -> bool:
        return bool(assignees.active(session, [user_id]))

    def role_exists(key: str) -> bool:
        return session.scalar(select(Role.id).where(Role.key == key)) is not None

    def unit_exists(unit_id: uuid.UUID) -> bool:
        return session.scalar(select(OrgUnit.id).where(OrgUnit.id == unit_id)) is not None

    def check_value(key: str, value: Any) -> list[str]:
        spec = settable.get(key)
        if spec is None:
            return [N_("An automation can set only the form's own (custom) fields.")]
        try:
            parse(spec, value)
        except Invalid as problem:
            return [message(problem.message, **problem.params)]
        return []

    return Checks(
        kinds=form.expression_kinds,
        user_exists=user_exists,
        role_exists=role_exists,
        unit_exists=unit_exists,
        check_value=check_value,
    )


def definition(session: Session, record_type: str) -> FlowDefinition | None:
    return session.scalar(select(FlowDefinition).where(FlowDefinition.record_type == record_type))


def problems(session: Session, form: Form, draft: Mapping[str, Any]) -> dict[str, list[str]]:
    """What stands between ``draft`` and publishing, per node id (empty: it can be)."""
    try:
        parse_tree(draft, checks_for(session, form))
    except ValidationFailed as failed:
        return failed.errors or {"nodes": [failed.message]}
    return {}


def save_draft(
    session: Session,
    record_type: RecordType,
    form: Form,
    draft: Mapping[str, Any],
    *,
    name: str | None = None,
    user_id: uuid.UUID | None = None,
) -> tuple[FlowDefinition, dict[str, list[str]]]:
    """Keep ``draft`` as the record type's working copy; returns it and its problems."""
    if not isinstance(draft, Mapping) or not isinstance(draft.get("nodes"), list):
        raise ValidationFailed(N_("A flow is an object with a list of nodes."))
    if len(json.dumps(draft, default=str)) > MAX_DRAFT_BYTES:
        raise ValidationFailed(N_("This flow is too large to save."))
    if name is not None and not (0 < len(name.strip()) <= 100):
        raise ValidationFailed(
            N_("Some fields need attention."), errors={"name": [N_("Use 1 to 100 characters.")]}
        )
    row = definition(session, record_type.key)
    if row is None:
        row = FlowDefinition(
            record_type=record_type.key,
            name=(name or record_type.label_zh + "审批").strip(),
            draft={"nodes": []},
        )
        session.add(row)
    before = row.draft
    row.draft = {"nodes": list(draft["nodes"])}
    if name is not None:
        row.name = name.strip()
    row.updated_by_id = user_id
    session.flush()
    if before != row.draft or name is not None:
        audit.record(session, "flow.save_draft", "flow", row.id, {"record_type": record_type.key})
    return row, problems(session, form, row.draft)


def publish(
    session: Session,
    record_type: RecordType,
    form: Form,
    *,
    note: str = "",
    user_id: uuid.UUID | None = None,
) -> FlowVersion:
    """Check the draft strictly and make it the next version in force (``Conflict`` when it is
    the version in force already: a version is a change people can see in the history)."""
    row = definition(session, record_type.key)
    if row is None:
        raise NotFound(N_("This record type has no flow yet."))
    tree = parse_tree(row.draft, checks_for(session, form))
    in_force = session.scalar(
        select(FlowVersion).where(
            FlowVersion.definition_id == row.id, FlowVersion.number == row.published_version
        )
    )
    if in_force is not None and (in_force.tree, in_force.name) == (tree.to_json(), row.name):
        raise Conflict(
            message(N_("Nothing changed since version %(number)s."), number=in_force.number)
        )
    if len(note) > 200:
        raise ValidationFailed(
            N_("Some fields need attention."), errors={"note": [N_("Use at most 200 characters.")]}
        )
    number = (
        session.scalar(
            select(func.max(FlowVersion.number)).where(FlowVersion.definition_id == row.id)
        )
        or 0
    ) + 1
    version = FlowVersion(
        definition_id=row.id,
        number=number,
        name=row.name,
        tree=tree.to_json(),
        note=note.strip(),
        published_by_id=user_id,
    )
    session.add(version)
    row.published_version = number
    row.draft = tree.to_json()
    session.flush()
    audit.record(
        session,
        "flow.publish",
        "flow",
        row.id,
        {"record_type": record_type.key, "version": number},
    )
    events.emit(session, "flow.published", "flow", row.id, {"version": number})
    return version


def versions(session: Session, record_type: str) -> list[FlowVersion]:
    """Every published version, newest first."""
    row = definition(session, record_type)
    if row is None:
        return []
    return list(
        session.scalars(
            select(FlowVersion)
            .where(FlowVersion.definition_id == row.id)
            .order_by(FlowVersion.number.desc())
        )
    )


def version(session: Session, record_type: str, number: int) -> FlowVersion:
    row = definition(session, record_type)
    found = (
        session.scalar(
            select(FlowVersion).where(
                FlowVersion.definition_id == row.id, FlowVersion.number == number
            )
        )
        if row
        else None
    )
    if found is None:
        raise NotFound(N_("No such flow version."))
    return found


@dataclass(frozen=True)
class Stop:
    """One node on a test run's path."""

    node: Node
    branch: str | None  # the branch taken, at a condition node
    users: tuple[uuid.UUID, ...]  # who it would go to (approver and CC nodes)
    note: str = ""  # "skip" / "admin" / "block" when nobody resolves


def test_run(
    session: Session,
    form: Form,
    draft: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    submitter_id: uuid.UUID,
) -> tuple[list[Stop], str]:
    """The path a record with ``values`` (as the API gives them) would take through
    ``draft``, with who each node would go to, and the outcome. The draft must be valid."""
    tree: Tree = parse_tree(draft, checks_for(session, form))
    kinds = form.expression_kinds
    typed = _sample(form, values)
    plain = decode(encode(typed, kinds), kinds)
    path, outcome = tree.path(plain)
    stops = []
    for node, branch in path:
        users: list[uuid.UUID] = []
        note = ""
        if isinstance(node, Approver | Copy):
            users = assignees.resolve(
                session, node.assignees, submitter_id=submitter_id, values=plain
            )
            if not users and isinstance(node, Approver):
                note = node.when_empty
                if note == "admin":
                    users = assignees.admins(session)
        stops.append(Stop(node, branch, tuple(users), note))
    return stops, outcome


def _sample(form: Form, values: Mapping[str, Any]) -> dict[str, Any]:
    typed: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, raw in values.items():
        try:
            spec = form.field(key)
        except KeyError:
            errors[key] = [N_("No field is called this.")]
            continue
        try:
            typed[key] = parse(spec, raw)
        except Invalid as problem:
            errors[key] = [message(problem.message, **problem.params)]
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    return typed
