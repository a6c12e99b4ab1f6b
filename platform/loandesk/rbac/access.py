"""Data scopes and field permissions: the one place that decides which records of a record type
a user sees, which of their fields, how (hidden / masked / view / edit), and what they may
export (数据权限范围, 字段权限).

Every adapter goes through a ``RecordAccess``: the API's serialisation, the web's tables and
forms, exports and reports. ``where`` narrows a query to the user's scope, ``present`` turns a
record into the values the user may see (masked where the grant says so, auditing every
personal value shown unmasked), ``check_write`` refuses a change to a field the user may not
edit (403 naming the field), and ``export_fields`` says what an export may hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.errors import Forbidden, NotFound
from loandesk.fields.registry import ACCESS_LEVELS, SCOPES, FieldSpec, RecordType
from loandesk.i18n import N_
from loandesk.pii.keys import Keyring
from loandesk.pii.masking import mask, mask_text
from loandesk.rbac.models import RoleRecordAccess

HIDDEN_VALUE = "****"
_MASK_AS_PERSONAL = ("resident_id", "mobile", "bank_card", "address", "name")


def stronger(a: str, b: str) -> str:
    return a if ACCESS_LEVELS.index(a) >= ACCESS_LEVELS.index(b) else b


@dataclass
class RecordAccess:
    """What one user may do with one record type, resolved once per request."""

    record_type: RecordType
    user_id: uuid.UUID
    scope: str | None  # None: no access to this record type at all
    fields: Mapping[str, str]  # field key -> access level; a field not present is hidden
    export: frozenset[str]
    unit_ids: frozenset[uuid.UUID] = frozenset()  # the units a "team"/"unit" scope reaches
    _shown: dict[str, set[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def resolve(cls, session: Session, user: Any, record_type: RecordType) -> RecordAccess:
        """The union of ``user``'s roles' grants: the widest scope, per field the strongest
        access, every field any role may export. The tenant admin may do everything."""
        if user.is_admin:
            keys = record_type.field_keys
            return cls(record_type, user.id, "all", dict.fromkeys(keys, "edit"), frozenset(keys))
        role_ids = [r.id for r in user.roles]
        rows = list(
            session.scalars(
                select(RoleRecordAccess).where(
                    RoleRecordAccess.role_id.in_(role_ids),
                    RoleRecordAccess.record_type == record_type.key,
                )
            )
        )
        if not rows:
            return cls(record_type, user.id, None, {}, frozenset())
        scope = max((r.scope for r in rows), key=SCOPES.index)
        fields: dict[str, str] = {}
        exported: set[str] = set()
        for row in rows:
            for key, level in row.fields.items():
                if key in record_type.field_keys and level in ACCESS_LEVELS:
                    fields[key] = stronger(level, fields.get(key, "hidden"))
            exported.update(k for k in row.export if k in record_type.field_keys)
        units: frozenset[uuid.UUID] = frozenset()
        if scope in ("team", "unit") and user.org_unit_id is not None:
            if scope == "team":
                units = frozenset({user.org_unit_id})
            else:
                from loandesk.rbac.org import Tree

                units = frozenset(Tree.load(session).subtree(user.org_unit_id))
        return cls(record_type, user.id, scope, fields, frozenset(exported), units)

    # --- records ---------------------------------------------------------------------------

    @property
    def can_read(self) -> bool:
        return self.scope is not None

    def require_read(self) -> None:
        if self.scope is None:
            raise Forbidden(
                N_("You may not see %(record_type)s records."),
                params={"record_type": self.record_type.label_en},
            )

    def where(self, statement: Select[Any]) -> Select[Any]:
        """``statement`` narrowed to the records the user's scope reaches."""
        model = self.record_type.model
        owner = getattr(model, self.record_type.owner_column)
        unit = getattr(model, self.record_type.unit_column)
        if self.scope is None:
            return statement.where(false())
        if self.scope == "all":
            return statement
        if self.scope in ("team", "unit") and self.unit_ids:
            return statement.where(unit.in_(self.unit_ids) | (owner == self.user_id))
        return statement.where(owner == self.user_id)  # "own", or a user placed in no unit

    def reaches(self, record: Any) -> bool:
        if self.scope is None:
            return False
        if self.scope == "all":
            return True
        owner = getattr(record, self.record_type.owner_column)
        unit = getattr(record, self.record_type.unit_column)
        return owner == self.user_id or (self.scope in ("team", "unit") and unit in self.unit_ids)

    def check_record(self, record: Any | None) -> Any:
        """``record`` if the user's scope reaches it; otherwise ``NotFound``, as if it did not
        exist (a record out of scope is not even confirmed to exist)."""
        self.require_read()
        if record is None or not self.reaches(record):
            raise NotFound(N_("No such record."))
        return record

    # --- fields ----------------------------------------------------------------------------

    def access(self, key: str) -> str:
        return self.fields.get(key, "hidden")

    def visible_fields(self) -> list[FieldSpec]:
        return [f for f in self.record_type.fields if self.access(f.key) != "hidden"]

    def editable_fields(self) -> list[FieldSpec]:
        return [
            f for f in self.record_type.fields if self.access(f.key) == "edit" and not f.read_only
        ]

    def check_write(self, changes: Iterable[str]) -> None:
        """``Forbidden`` (403) naming every field in ``changes`` the user may not edit."""
        refused = sorted(
            key
            for key in changes
            if key in self.record_type.field_keys
            and (self.access(key) != "edit" or self.record_type.field(key).read_only)
        )
        if refused:
            raise Forbidden(
                N_("You may not change: %(fields)s."),
                params={"fields": ", ".join(refused)},
                errors={key: [N_("You may not edit this field.")] for key in refused},
            )

    def export_fields(self) -> list[FieldSpec]:
        """The fields an export holds; ``Forbidden`` when the user may export none."""
        self.require_read()
        fields = [f for f in self.visible_fields() if f.key in self.export]
        if not fields:
            raise Forbidden(
                N_("You may not export %(record_type)s records."),
                params={"record_type": self.record_type.label_en},
            )
        return fields

    def present(
        self,
        record: Any,
        keys: Keyring,
        *,
        fields: Sequence[FieldSpec] | None = None,
        plain: bool = False,
    ) -> dict[str, Any]:
        """The values of ``record`` the user may see, keyed by field: hidden fields left out,
        masked ones masked. ``plain`` gives JSON-ready values (amounts and dates as strings).
        Personal values shown unmasked are remembered for ``audit_shown``."""
        values: dict[str, Any] = {}
        for spec in fields if fields is not None else self.visible_fields():
            level = self.access(spec.key)
            if level == "hidden":
                continue
            value = read(record, spec, keys)
            if value is not None and level == "masked":
                value = masked(spec, value)
            elif value is not None and spec.encrypted:
                self._shown.setdefault(str(record.id), set()).add(spec.key)
            values[spec.key] = to_plain(value) if plain else value
        return values

    def masked_fields(self) -> list[str]:
        return [f.key for f in self.record_type.fields if self.access(f.key) == "masked"]

    def audit_shown(self, session: Session, purpose: str = "view") -> None:
        """One audit event for the personal values shown unmasked since the last call
        (``personal_data.view`` or ``.export``: which records, which fields, never values)."""
        if not self._shown:
            return
        ids = sorted(self._shown)
        fields = sorted({k for keys in self._shown.values() for k in keys})
        audit.record(
            session,
            f"personal_data.{purpose}",
            self.record_type.key,
            ids[0] if len(ids) == 1 else None,
            {"records": ids, "fields": fields},
        )
        self._shown.clear()


def read(record: Any, spec: FieldSpec, keys: Keyring) -> Any:
    """The stored value of a field (decrypted for an encrypted kind)."""
    if spec.custom:
        from loandesk.fields.validation import read_custom

        return read_custom(record, spec, keys)
    if spec.encrypted:
        return record.get_personal(spec.source, keys=keys)
    return getattr(record, spec.source)


def masked(spec: FieldSpec, value: Any) -> str:
    """The masked form: personal kinds by their rule, text by the generic rule, anything
    else (amounts, numbers, dates) hidden whole, since part of a number still tells."""
    if spec.kind in _MASK_AS_PERSONAL:
        return mask(spec.kind, str(value))
    if spec.kind in ("text", "long_text"):
        return mask_text(str(value))
    return HIDDEN_VALUE


def to_plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
