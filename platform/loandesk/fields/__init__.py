"""Record types (业务对象) and their fields (DESIGN §4 "Fields").

Plugins declare record types with their built-in fields through ``loandesk_record_types``;
field permissions and data scopes (``loandesk.rbac.access``) apply to every one of them.
Tenant-defined custom fields join the same registry (the fields engine).
"""

from loandesk.fields.registry import FIELD_KINDS, FieldKind, FieldSpec, RecordType

__all__ = ["FIELD_KINDS", "FieldKind", "FieldSpec", "RecordType"]
