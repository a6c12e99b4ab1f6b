"""The organisation of a tenant (组织架构): a tree of units with heads, and who sits where.

The company is the root and is created with the tenant; branches (分公司) and teams (小组)
hang below it. Data scopes read the tree: "team" is the user's own unit, "unit" that unit and
every unit below it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.errors import Conflict, NotFound, ValidationFailed
from loandesk.fields import RecordType
from loandesk.i18n import N_
from loandesk.rbac.models import OrgUnit

KINDS = ("company", "branch", "team")
# What each kind may hold below it: the company is only ever the root, a team is a leaf.
CHILD_KINDS = {"company": ("branch", "team"), "branch": ("branch", "team"), "team": ()}


@dataclass(frozen=True)
class Tree:
    """Every unit of the tenant, loaded once, with the questions scopes ask of it."""

    units: dict[uuid.UUID, OrgUnit]

    @classmethod
    def load(cls, session: Session) -> Tree:
        return cls({u.id: u for u in session.scalars(select(OrgUnit))})

    def children(self, unit_id: uuid.UUID | None) -> list[OrgUnit]:
        return sorted(
            (u for u in self.units.values() if u.parent_id == unit_id),
            key=lambda u: (u.position, u.name),
        )

    def subtree(self, unit_id: uuid.UUID) -> set[uuid.UUID]:
        """``unit_id`` and every unit below it."""
        found, frontier = {unit_id}, [unit_id]
        while frontier:
            below = [u.id for u in self.units.values() if u.parent_id in frontier]
            frontier = [u for u in below if u not in found]
            found.update(frontier)
        return found

    def path(self, unit_id: uuid.UUID) -> list[OrgUnit]:
        """From the root down to ``unit_id``."""
        path: list[OrgUnit] = []
        unit = self.units.get(unit_id)
        while unit is not None and unit not in path:
            path.insert(0, unit)
            unit = self.units.get(unit.parent_id) if unit.parent_id else None
        return path

    def walk(self) -> list[tuple[int, OrgUnit]]:
        """Every unit with its depth, parents before children (for an indented tree)."""
        rows: list[tuple[int, OrgUnit]] = []

        def visit(parent: uuid.UUID | None, depth: int) -> None:
            for unit in self.children(parent):
                rows.append((depth, unit))
                visit(unit.id, depth + 1)

        visit(None, 0)
        return rows


def create_company(session: Session, name: str) -> OrgUnit:
    """The root unit of a new tenant."""
    unit = OrgUnit(parent_id=None, name=name.strip()[:100], kind="company", position=0)
    session.add(unit)
    session.flush()
    return unit


def company(session: Session) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.parent_id.is_(None)))
    if unit is None:  # every tenant gets one at sign-up and by migration
        raise NotFound(N_("The organisation has no company unit."))
    return unit


def get_unit(session: Session, unit_id: uuid.UUID) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.id == unit_id))
    if unit is None:
        raise NotFound(N_("No such org unit."))
    return unit


def create_unit(
    session: Session,
    *,
    parent_id: uuid.UUID,
    name: str,
    kind: str,
    head_user_id: uuid.UUID | None = None,
    position: int = 0,
) -> OrgUnit:
    parent = _parent(session, parent_id)
    errors = _problems(session, name=name, kind=kind, head_user_id=head_user_id)
    if not errors.get("kind") and kind not in CHILD_KINDS[parent.kind]:
        errors["parent_id"] = [N_("A unit of this kind cannot be placed here.")]
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    unit = OrgUnit(
        parent_id=parent.id,
        name=name.strip(),
        kind=kind,
        head_user_id=head_user_id,
        position=position,
    )
    session.add(unit)
    session.flush()
    audit.record(session, "org_unit.create", "org_unit", unit.id, _audited(unit))
    return unit


def update_unit(
    session: Session,
    unit: OrgUnit,
    *,
    name: str | None = None,
    kind: str | None = None,
    parent_id: uuid.UUID | None = None,
    head_user_id: uuid.UUID | Literal["unchanged"] | None = "unchanged",
    position: int | None = None,
) -> OrgUnit:
    """Rename, re-head, re-order or move a unit; ``head_user_id=None`` removes the head."""
    head = unit.head_user_id if isinstance(head_user_id, str) else head_user_id
    new_kind = kind if kind is not None else unit.kind
    errors = _problems(
        session,
        name=name if name is not None else unit.name,
        kind=new_kind,
        head_user_id=head if head != unit.head_user_id else None,
    )
    tree = Tree.load(session)
    if unit.parent_id is None:
        if parent_id is not None:
            errors["parent_id"] = [N_("The company is the root; it cannot move.")]
        if new_kind != "company":
            errors["kind"] = [N_("The root unit is the company.")]
    else:
        if new_kind == "company":
            errors["kind"] = [N_("Only the root unit is the company.")]
        target = parent_id or unit.parent_id
        assert target is not None
        if target in tree.subtree(unit.id):
            errors["parent_id"] = [N_("A unit cannot move below itself.")]
        elif target not in tree.units:
            errors["parent_id"] = [N_("Choose a unit from the list.")]
        elif not errors.get("kind") and new_kind not in CHILD_KINDS[tree.units[target].kind]:
            errors["parent_id"] = [N_("A unit of this kind cannot be placed here.")]
        if not CHILD_KINDS.get(new_kind) and tree.children(unit.id):
            errors["kind"] = [N_("A team cannot hold other units; move them first.")]
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    before = _audited(unit)
    if name is not None:
        unit.name = name.strip()
    unit.kind = new_kind
    if parent_id is not None and unit.parent_id is not None:
        unit.parent_id = parent_id
    unit.head_user_id = head
    if position is not None:
        unit.position = position
    session.flush()
    if diff := audit.changes(before, _audited(unit)):
        audit.record(session, "org_unit.update", "org_unit", unit.id, diff)
    return unit


def delete_unit(session: Session, unit: OrgUnit, record_types: Iterable[RecordType] = ()) -> None:
    """Delete an empty unit: no units below, no staff, no records of ``record_types``."""
    from loandesk.auth.models import User

    if unit.parent_id is None:
        raise Conflict(N_("The company unit cannot be deleted."))
    if session.scalar(select(func.count()).where(OrgUnit.parent_id == unit.id)):
        raise Conflict(N_("This unit holds other units; move or delete them first."))
    staff = session.scalar(select(func.count()).where(User.org_unit_id == unit.id)) or 0
    if staff:
        raise Conflict(
            N_("%(count)s staff belong to this unit; move them first."), params={"count": staff}
        )
    for record_type in record_types:
        column = getattr(record_type.model, record_type.unit_column)
        if session.scalar(select(func.count()).where(column == unit.id)):
            raise Conflict(
                N_("Records still belong to this unit; reassign them first."),
                params={"record_type": record_type.key},
            )
    audit.record(session, "org_unit.delete", "org_unit", unit.id, _audited(unit))
    session.delete(unit)
    session.flush()


def place_user(session: Session, user_id: uuid.UUID, unit_id: uuid.UUID | None) -> None:
    """Put a user in a unit (``None``: the company)."""
    from loandesk.auth.models import User

    unit = get_unit(session, unit_id) if unit_id is not None else company(session)
    user = session.scalar(select(User).where(User.id == user_id))
    if user is None:
        raise NotFound(N_("No such user."))
    if user.org_unit_id != unit.id:
        before = str(user.org_unit_id) if user.org_unit_id else None
        user.org_unit_id = unit.id
        session.flush()
        audit.record(session, "user.move", "user", user.id, {"org_unit_id": [before, str(unit.id)]})


def check_unit(session: Session, unit_id: uuid.UUID | None, field: str = "org_unit_id") -> None:
    """``ValidationFailed`` naming ``field`` unless ``unit_id`` is a unit of this tenant."""
    found = session.scalar(select(OrgUnit.id).where(OrgUnit.id == unit_id)) if unit_id else True
    if found is None:
        raise ValidationFailed(
            N_("Some fields need attention."), errors={field: [N_("Choose a unit from the list.")]}
        )


def staff_counts(session: Session) -> dict[uuid.UUID, int]:
    from loandesk.auth.models import User

    rows = session.execute(
        select(User.org_unit_id, func.count())
        .where(User.status != "deactivated")
        .group_by(User.org_unit_id)
    )
    return {unit_id: count for unit_id, count in rows if unit_id is not None}


def _parent(session: Session, parent_id: uuid.UUID) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.id == parent_id))
    if unit is None:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"parent_id": [N_("Choose a unit from the list.")]},
        )
    return unit


def _problems(
    session: Session, *, name: str, kind: str, head_user_id: uuid.UUID | None
) -> dict[str, list[str]]:
    from loandesk.auth.models import User

    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = [N_("Enter a name.")]
    elif len(name.strip()) > 100:
        errors["name"] = [N_("Use at most 100 characters.")]
    if kind not in KINDS:
        errors["kind"] = [N_("Choose a kind from the list.")]
    if head_user_id is not None:
        head = session.scalar(select(User).where(User.id == head_user_id))
        if head is None or not head.is_active:
            errors["head_user_id"] = [N_("Choose an active staff member.")]
    return errors


def _audited(unit: OrgUnit) -> dict[str, object]:
    return {
        "name": unit.name,
        "kind": unit.kind,
        "parent_id": str(unit.parent_id) if unit.parent_id else None,
        "head_user_id": str(unit.head_user_id) if unit.head_user_id else None,
        "position": unit.position,
    }


def unit_of(session: Session, user_id: uuid.UUID, field: str = "owner_id") -> uuid.UUID:
    """The unit of an active staff member (the company if placed nowhere), for a record they
    are given; ``ValidationFailed`` naming ``field`` for anyone else."""
    from loandesk.auth.models import User

    user = session.scalar(select(User).where(User.id == user_id))
    if user is None or not user.is_active:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={field: [N_("Choose an active staff member.")]},
        )
    return user.org_unit_id or company(session).id


def unit_names(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names of these units (for columns that show where)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(wanted)))
    return {row.id: row.name for row in rows}
