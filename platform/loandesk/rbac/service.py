"""Roles of the current tenant: seeding, editing, granting to users, checking permissions."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.errors import Conflict, NotFound, ValidationFailed
from loandesk.i18n import N_
from loandesk.plugins.info import Permission
from loandesk.rbac.catalog import ADMIN_ROLE, BUILTIN_ROLES
from loandesk.rbac.models import Role, UserRole

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class AllPermissions(frozenset[str]):
    """What the tenant admin holds: every permission, including ones not yet installed."""

    def __contains__(self, item: object) -> bool:
        return True


ALL = AllPermissions()


def seed_builtin_roles(session: Session) -> dict[str, Role]:
    """The built-in roles of a new tenant."""
    roles = {}
    for builtin in BUILTIN_ROLES:
        role = Role(
            key=builtin.key,
            name_zh=builtin.name_zh,
            name_en=builtin.name_en,
            description="",
            builtin=True,
            permissions=list(builtin.permissions),
        )
        session.add(role)
        roles[builtin.key] = role
    session.flush()
    return roles


def list_roles(session: Session) -> list[Role]:
    return list(session.scalars(select(Role).order_by(Role.builtin.desc(), Role.created_at)))


def get_role(session: Session, role_id: uuid.UUID) -> Role:
    role = session.scalar(select(Role).where(Role.id == role_id))
    if role is None:
        raise NotFound(N_("No such role."))
    return role


def role_by_key(session: Session, key: str) -> Role | None:
    return session.scalar(select(Role).where(Role.key == key))


def _check(
    *,
    key: str | None,
    name_zh: str | None,
    name_en: str | None,
    permissions: Iterable[str] | None,
    available: frozenset[str],
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if key is not None and not KEY_PATTERN.match(key):
        errors["key"] = [
            N_("Use 2-40 lowercase letters, digits and underscores, starting with a letter.")
        ]
    for field, value in (("name_zh", name_zh), ("name_en", name_en)):
        if value is not None and not value.strip():
            errors[field] = [N_("Enter a name.")]
        elif value is not None and len(value) > 60:
            errors[field] = [N_("Use at most 60 characters.")]
    if permissions is not None and set(permissions) - available:
        errors["permissions"] = [N_("Choose permissions from the list.")]
    return errors


def create_role(
    session: Session,
    *,
    key: str,
    name_zh: str,
    name_en: str,
    description: str = "",
    permissions: Iterable[str] = (),
    available: frozenset[str],
) -> Role:
    """A custom role. ``available`` are the permissions the tenant can grant today."""
    permissions = sorted(set(permissions))
    errors = _check(
        key=key, name_zh=name_zh, name_en=name_en, permissions=permissions, available=available
    )
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    if role_by_key(session, key) is not None:
        raise Conflict(
            N_("A role with this key exists already."), errors={"key": [N_("Already in use.")]}
        )
    role = Role(
        key=key,
        name_zh=name_zh.strip(),
        name_en=name_en.strip(),
        description=description.strip()[:300],
        builtin=False,
        permissions=permissions,
    )
    session.add(role)
    session.flush()
    audit.record(session, "role.create", "role", role.id, {"key": key, "permissions": permissions})
    return role


def update_role(
    session: Session,
    role: Role,
    *,
    name_zh: str | None = None,
    name_en: str | None = None,
    description: str | None = None,
    permissions: Iterable[str] | None = None,
    available: frozenset[str],
) -> Role:
    perms = sorted(set(permissions)) if permissions is not None else None
    errors = _check(
        key=None,
        name_zh=name_zh,
        name_en=name_en,
        permissions=perms,
        available=available | frozenset(role.permissions),
    )
    if perms is not None and role.key == ADMIN_ROLE:
        errors["permissions"] = [N_("The tenant admin always holds every permission.")]
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    before = {
        "name_zh": role.name_zh,
        "name_en": role.name_en,
        "description": role.description,
        "permissions": list(role.permissions),
    }
    if name_zh is not None:
        role.name_zh = name_zh.strip()
    if name_en is not None:
        role.name_en = name_en.strip()
    if description is not None:
        role.description = description.strip()[:300]
    if perms is not None:
        role.permissions = perms
    session.flush()
    after = {
        "name_zh": role.name_zh,
        "name_en": role.name_en,
        "description": role.description,
        "permissions": list(role.permissions),
    }
    if diff := audit.changes(before, after):
        audit.record(session, "role.update", "role", role.id, diff)
    return role


def delete_role(session: Session, role: Role) -> None:
    if role.builtin:
        raise Conflict(N_("Built-in roles cannot be deleted; change their permissions instead."))
    holders = (
        session.scalar(
            select(func.count()).select_from(UserRole).where(UserRole.role_id == role.id)
        )
        or 0
    )
    if holders:
        raise Conflict(
            N_("%(count)s users hold this role; take it from them first."),
            params={"count": holders},
        )
    audit.record(session, "role.delete", "role", role.id, {"key": role.key})
    session.delete(role)
    session.flush()


def roles_of(session: Session, user_id: uuid.UUID) -> list[Role]:
    return list(
        session.scalars(
            select(Role)
            .join(UserRole, UserRole.role_id == Role.id)
            .where(UserRole.user_id == user_id)
            .order_by(Role.key)
        )
    )


def set_user_roles(
    session: Session, user_id: uuid.UUID, keys: Iterable[str], *, audit_change: bool = True
) -> list[Role]:
    """Give a user exactly these roles (by key)."""
    keys = sorted(set(keys))
    by_key = {r.key: r for r in list_roles(session)}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        raise ValidationFailed(
            N_("Unknown role: %(keys)s"),
            params={"keys": ", ".join(unknown)},
            errors={"roles": [N_("Choose roles from the list.")]},
        )
    before = sorted(r.key for r in roles_of(session, user_id))
    if ADMIN_ROLE in before and ADMIN_ROLE not in keys:
        keep_one_admin(session, user_id)
    session.execute(delete(UserRole).where(UserRole.user_id == user_id))
    for key in keys:
        session.add(UserRole(user_id=user_id, role_id=by_key[key].id))
    session.flush()
    if audit_change and before != keys:
        audit.record(session, "user.roles", "user", user_id, {"roles": [before, keys]})
    return [by_key[k] for k in keys]


def keep_one_admin(session: Session, user_id: uuid.UUID) -> None:
    """Refuse when ``user_id`` is the tenant's last active admin."""
    from loandesk.auth.models import User

    admin = role_by_key(session, ADMIN_ROLE)
    if admin is None:
        return
    others = session.scalar(
        select(func.count())
        .select_from(UserRole)
        .join(User, (User.tenant_id == UserRole.tenant_id) & (User.id == UserRole.user_id))
        .where(UserRole.role_id == admin.id, UserRole.user_id != user_id, User.status == "active")
    )
    if not others:
        raise ValidationFailed(
            N_("The tenant must keep at least one active admin."),
            errors={"roles": [N_("Last admin.")]},
        )


def permissions_of(roles: Iterable[Role]) -> frozenset[str]:
    roles = list(roles)
    if any(r.key == ADMIN_ROLE for r in roles):
        return ALL
    return frozenset(p for r in roles for p in r.permissions)


def grant_defaults(session: Session, permissions: Iterable[Permission]) -> None:
    """Give built-in roles the permissions a newly enabled plugin marks for them."""
    builtin = {r.key: r for r in list_roles(session) if r.builtin}
    for permission in permissions:
        for key in permission.default_roles:
            role = builtin.get(key)
            if role is not None and permission.name not in role.permissions:
                role.permissions = sorted({*role.permissions, permission.name})
    session.flush()


def holder_counts(session: Session) -> dict[uuid.UUID, int]:
    """How many users hold each role."""
    rows = session.execute(select(UserRole.role_id, func.count()).group_by(UserRole.role_id))
    return {role_id: count for role_id, count in rows}
