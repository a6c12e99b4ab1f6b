"""Who an approver or CC node goes to, resolved when the node is reached (not when the flow
was designed): a named user, everyone holding a role, the head of an org unit, the
submitter's manager N levels up (直属主管 = level 1), or the user a field of the record names.
Only active staff are ever assigned; the result is in a stable order without repeats."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.auth.models import User
from loandesk.flows.tree import Assignee
from loandesk.rbac.catalog import ADMIN_ROLE
from loandesk.rbac.models import OrgUnit, Role, UserRole
from loandesk.rbac.org import Tree as OrgTree


def resolve(
    session: Session,
    assignees: Iterable[Assignee],
    *,
    submitter_id: uuid.UUID,
    values: Mapping[str, Any],
) -> list[uuid.UUID]:
    wanted: list[uuid.UUID] = []
    org: OrgTree | None = None
    for assignee in assignees:
        if assignee.kind == "user" and assignee.user is not None:
            wanted.append(assignee.user)
        elif assignee.kind == "role" and assignee.role:
            wanted.extend(holders(session, assignee.role))
        elif assignee.kind == "unit_head" and assignee.unit is not None:
            org = org or OrgTree.load(session)
            unit = org.units.get(assignee.unit)
            if unit is not None and unit.head_user_id is not None:
                wanted.append(unit.head_user_id)
        elif assignee.kind == "manager":
            org = org or OrgTree.load(session)
            manager = manager_of(session, org, submitter_id, assignee.levels)
            if manager is not None:
                wanted.append(manager)
        elif assignee.kind == "field" and assignee.field:
            named = _as_uuid(values.get(assignee.field))
            if named is not None:
                wanted.append(named)
    return active(session, wanted)


def active(session: Session, user_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """``user_ids`` that are active staff, first occurrence order, without repeats."""
    ordered = list(dict.fromkeys(user_ids))
    if not ordered:
        return []
    found = set(
        session.scalars(select(User.id).where(User.id.in_(ordered), User.status == "active"))
    )
    return [u for u in ordered if u in found]


def holders(session: Session, role_key: str) -> list[uuid.UUID]:
    """Active users holding the role, by name."""
    return list(
        session.scalars(
            select(User.id)
            .join(UserRole, (UserRole.user_id == User.id) & (UserRole.tenant_id == User.tenant_id))
            .join(Role, (Role.id == UserRole.role_id) & (Role.tenant_id == UserRole.tenant_id))
            .where(Role.key == role_key, User.status == "active")
            .order_by(User.display_name, User.id)
        )
    )


def admins(session: Session) -> list[uuid.UUID]:
    return holders(session, ADMIN_ROLE)


def manager_of(session: Session, org: OrgTree, user_id: uuid.UUID, levels: int) -> uuid.UUID | None:
    """The head of the user's unit (level 1; the head of the unit above when the user heads
    their own), then of each unit further up, ``levels`` steps in all."""
    unit_id = session.scalar(select(User.org_unit_id).where(User.id == user_id))
    if unit_id is None:
        return None
    path: list[OrgUnit] = org.path(unit_id)
    if path and path[-1].head_user_id == user_id:
        path = path[:-1]
    index = len(path) - levels
    if index < 0:
        return None
    return path[index].head_user_id


def _as_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
