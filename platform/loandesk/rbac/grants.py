"""What roles may do with record types: reading and changing a role's data scope, field
permissions and export grants, and the defaults a plugin gives built-in roles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.errors import Conflict, ValidationFailed
from loandesk.fields.registry import ACCESS_LEVELS, SCOPES, RecordType
from loandesk.i18n import N_
from loandesk.rbac.catalog import ADMIN_ROLE
from loandesk.rbac.models import Role, RoleRecordAccess


def grants_of(session: Session, role: Role) -> dict[str, RoleRecordAccess]:
    """The role's grants by record type key."""
    rows = session.scalars(select(RoleRecordAccess).where(RoleRecordAccess.role_id == role.id))
    return {row.record_type: row for row in rows}


def set_grant(
    session: Session,
    role: Role,
    record_type: RecordType,
    *,
    scope: str | None,
    fields: Mapping[str, str],
    export: Iterable[str],
) -> RoleRecordAccess | None:
    """Give ``role`` exactly this access to ``record_type``; ``scope=None`` takes it away.

    Fields not named are hidden; a field may be exported only if it is at least masked.
    """
    if role.key == ADMIN_ROLE:
        raise Conflict(N_("The tenant admin always sees and edits every record and field."))
    export = sorted(set(export))
    errors: dict[str, list[str]] = {}
    if scope is not None and scope not in SCOPES:
        errors["scope"] = [N_("Choose a data scope from the list.")]
    unknown = sorted(set(fields) - set(record_type.field_keys))
    unknown += sorted(set(export) - set(record_type.field_keys) - set(unknown))
    if unknown:
        errors["fields"] = [N_("Unknown field: %(fields)s")]
    elif any(level not in ACCESS_LEVELS for level in fields.values()):
        errors["fields"] = [N_("Choose hidden, masked, view or edit for each field.")]
    elif [k for k in export if fields.get(k, "hidden") == "hidden"]:
        errors["export"] = [N_("A hidden field cannot be exported.")]
    if errors:
        raise ValidationFailed(
            N_("Some fields need attention."), errors=errors, params={"fields": ", ".join(unknown)}
        )
    row = grants_of(session, role).get(record_type.key)
    before = _audited(row)
    kept = {k: v for k, v in sorted(fields.items()) if v != "hidden"}
    if scope is None:
        if row is not None:
            session.delete(row)
        row = None
    elif row is None:
        row = RoleRecordAccess(
            role_id=role.id, record_type=record_type.key, scope=scope, fields=kept, export=export
        )
        session.add(row)
    else:
        row.scope, row.fields, row.export = scope, kept, export
    session.flush()
    if diff := audit.changes(before, _audited(row)):
        audit.record(
            session, "role.record_access", "role", role.id, {"record_type": record_type.key, **diff}
        )
    return row


def apply_defaults(session: Session, record_types: Iterable[RecordType]) -> None:
    """Give built-in roles the access a newly enabled plugin's record types declare for them,
    where the role has none yet (an admin's choice is never overwritten)."""
    builtin = {r.key: r for r in session.scalars(select(Role).where(Role.builtin.is_(True)))}
    for record_type in record_types:
        for key, scope in record_type.default_scopes.items():
            role = builtin.get(key)
            if role is None or key == ADMIN_ROLE:
                continue
            if record_type.key in grants_of(session, role):
                continue
            declared = record_type.default_fields.get(key, {})
            fields = {
                f: declared.get(f, declared.get("*", "hidden")) for f in record_type.field_keys
            }
            exported = record_type.default_export.get(key, ())
            export = [
                f
                for f in record_type.field_keys
                if ("*" in exported or f in exported) and fields[f] != "hidden"
            ]
            session.add(
                RoleRecordAccess(
                    role_id=role.id,
                    record_type=record_type.key,
                    scope=scope,
                    fields={k: v for k, v in fields.items() if v != "hidden"},
                    export=export,
                )
            )
    session.flush()


def _audited(row: RoleRecordAccess | None) -> dict[str, object]:
    if row is None:
        return {"scope": None, "fields": {}, "export": []}
    return {"scope": row.scope, "fields": dict(row.fields), "export": list(row.export)}
