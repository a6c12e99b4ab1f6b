"""What a record type declares: its model, its built-in fields, who owns a record, and the
access built-in roles get when a tenant enables the plugin that brings it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal, get_args

# How a field's value is held and shown. The personal kinds are stored encrypted
# (``loandesk.pii.PersonalData``), found by exact match only, and every display of one
# unmasked is audited; a name is personal too but kept in clear, so that staff can sort
# and search by it, and masked like the others for viewers who may not see it.
FieldKind = Literal[
    "text",
    "long_text",
    "integer",
    "decimal",
    "money",
    "date",
    "datetime",
    "select",
    "boolean",
    "user",
    "org_unit",
    "resident_id",
    "mobile",
    "bank_card",
    "address",
    "name",
    # kinds a tenant's custom fields add (fields.definitions); built-in fields may use them too
    "percent",
    "multi_select",
    "email",
    "region",
    "attachment",
    "link",
    "computed",
]
FIELD_KINDS: tuple[str, ...] = get_args(FieldKind)
ENCRYPTED_KINDS = ("resident_id", "mobile", "bank_card", "address")
# What a tenant may choose for a custom field (``user`` picks a staff member, ``link`` a record
# of another record type, ``computed`` is an expression over other fields, never entered).
CUSTOM_KINDS = (
    "text",
    "long_text",
    "integer",
    "decimal",
    "money",
    "percent",
    "date",
    "datetime",
    "select",
    "multi_select",
    "boolean",
    "mobile",
    "resident_id",
    "bank_card",
    "email",
    "region",
    "attachment",
    "user",
    "link",
    "computed",
)
# What a computed field may yield.
COMPUTED_RESULTS = ("decimal", "money", "integer", "text", "boolean", "date")
NUMERIC_KINDS = ("integer", "decimal", "money", "percent")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# Field permissions, weakest first; a user with several roles gets the strongest.
Access = Literal["hidden", "masked", "view", "edit"]
ACCESS_LEVELS: tuple[str, ...] = get_args(Access)

# Data scopes, narrowest first: records the user owns, of the user's own team, of the user's
# unit and every unit below it, every record of the tenant.
Scope = Literal["own", "team", "unit", "all"]
SCOPES: tuple[str, ...] = get_args(Scope)


@dataclass(frozen=True)
class FieldSpec:
    """A field of a record type: built in (declared by the plugin that brings the record type)
    or custom (``custom=True``: defined by a tenant admin, its value kept in the record's
    ``custom`` JSON column). ``attribute`` is a built-in field's model attribute (default: the
    key); a personal kind reads the encrypted column through ``PersonalData``.

    The rest describes validation and layout: ``minimum``/``maximum`` (numbers, dates; as text
    so a frozen spec holds them exactly), ``min_length``/``max_length``/``pattern`` (text),
    ``places`` (decimals), ``section`` and ``condition`` (an expression over other fields: the
    field is shown, and required, only while it holds), ``expression`` and ``result`` (a
    computed field), ``link_type`` (the record type a ``link`` points at), ``accept`` (``image``: an
    attachment field that takes only images), ``searchable`` (custom values indexed for
    filters and sorting). ``filterable`` offers a built-in field as a filter of record lists
    (``loandesk.fields.lists``); a custom field is filterable when it is searchable.
    """

    key: str
    label_zh: str
    label_en: str
    kind: FieldKind = "text"
    attribute: str | None = None
    required: bool = False
    options: tuple[tuple[str, str, str], ...] = ()  # (value, label_zh, label_en) of a select
    read_only: bool = False  # set by the system (numbers, timestamps), never by a form
    custom: bool = False
    help_zh: str = ""
    help_en: str = ""
    default: Any = None
    minimum: str | None = None
    maximum: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    places: int | None = None
    section: str = ""
    condition: str = ""
    expression: str = ""
    result: str | None = None
    link_type: str | None = None
    searchable: bool = False
    accept: str | None = None  # an attachment field: "image" takes only images, else any file
    filterable: bool = False

    @property
    def encrypted(self) -> bool:
        return self.kind in ENCRYPTED_KINDS

    @property
    def value_kind(self) -> str:
        """The kind a value has: a computed field's result, else the field's own kind."""
        return (self.result or "decimal") if self.kind == "computed" else self.kind

    @property
    def computed(self) -> bool:
        return self.kind == "computed"

    def help(self, locale: str) -> str:
        return self.help_zh if locale.startswith("zh") else self.help_en

    @property
    def source(self) -> str:
        return self.attribute or self.key

    def label(self, locale: str) -> str:
        return self.label_zh if locale.startswith("zh") else self.label_en

    def option_label(self, value: Any, locale: str) -> str:
        for option, label_zh, label_en in self.options:
            if option == value:
                return label_zh if locale.startswith("zh") else label_en
        return "" if value is None else str(value)


@dataclass(frozen=True)
class RecordType:
    """A kind of business record (customer, application, loan, ...) that fields attach to and
    that data scopes and field permissions govern.

    ``key`` is unique across plugins (``customer``); ``model`` is a ``TenantOwned`` model
    whose ``owner_column`` holds the owning user's id and ``unit_column`` the org unit the
    record belongs to (both used by data scopes). ``default_scopes`` and ``default_fields``
    give built-in roles (by key) their access when a tenant enables the plugin: a scope, and
    per field an access level (``"*"`` for every field not named); ``default_export`` the
    fields they may export. Roles not named get nothing until an admin grants it.

    ``create``, when given, makes a record from clean values (the Excel import uses it):
    ``create(session, access, keys, values, owner_id=...)`` validates, writes, audits and
    returns the new record, like the plugin's own service function it usually is.
    ``create_many``, when given, does the same for many rows in one go
    (``create_many(session, access, keys, rows, owner_id=...)`` → per row the new record or
    the ``DomainError`` that refused it, in order): the import prefers it.

    Approval flows: ``on_flow(session, record, state)`` is called in the flow's transaction
    whenever a record's approval changes state (``running``, ``returned``, ``approved``,
    ``rejected``, ``withdrawn``), and with ``in_review`` when a person first acts on a running
    approval (its submitter may no longer withdraw it): the module sets the record's status.
    Without it the record type has no approval flow.

    ``in_force(model)``, when given, is a filter (a SQL expression on ``model``) that
    automations' time-relative and schedule triggers add when they select records, so that
    rows a module keeps only as history (an installment an early repayment superseded) never
    fire a rule. None: every record.
    """

    key: str
    label_zh: str
    label_en: str
    model: type
    fields: tuple[FieldSpec, ...]
    owner_column: str = "owner_id"
    unit_column: str = "org_unit_id"
    title_field: str = "name"
    # the web page of one record: an endpoint taking ``<key>_id`` (links to records use it)
    detail_endpoint: str | None = None
    # the web list of its records, taking ``filter=key:op:value`` (a report drills down to it)
    list_endpoint: str | None = None
    default_scopes: Mapping[str, Scope] = field(default_factory=dict)
    default_fields: Mapping[str, Mapping[str, Access]] = field(default_factory=dict)
    default_export: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    create: Callable[..., Any] | None = None
    create_many: Callable[..., list[Any]] | None = None
    on_flow: Callable[..., None] | None = None
    in_force: Callable[[Any], Any] | None = None

    def label(self, locale: str) -> str:
        return self.label_zh if locale.startswith("zh") else self.label_en

    def field(self, key: str) -> FieldSpec:
        return self._by_key[key]  # KeyError for an unknown key

    @cached_property
    def _by_key(self) -> dict[str, FieldSpec]:
        # fields are looked up per value of every row an import checks: a dict, built once
        return {spec.key: spec for spec in self.fields}

    @cached_property
    def field_keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields)

    @property
    def builtin_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if not f.custom)

    def with_fields(self, extra: tuple[FieldSpec, ...]) -> RecordType:
        """This record type with a tenant's custom fields after the built-in ones."""
        return replace(self, fields=self.builtin_fields + extra)

    def problems(self) -> list[str]:
        """What is wrong with this declaration (empty when it is sound)."""
        found = []
        if not KEY_PATTERN.match(self.key):
            found.append(f"record type key {self.key!r}: lowercase letters, digits, _")
        keys = [f.key for f in self.fields]
        for key in sorted({k for k in keys if keys.count(k) > 1}):
            found.append(f"record type {self.key!r}: field {key!r} is declared twice")
        for spec in self.fields:
            if not KEY_PATTERN.match(spec.key):
                found.append(f"record type {self.key!r}: field key {spec.key!r}")
            if spec.kind not in FIELD_KINDS:
                found.append(f"record type {self.key!r}: field {spec.key!r} kind {spec.kind!r}")
        for column in (self.owner_column, self.unit_column):
            if not hasattr(self.model, column):
                found.append(f"record type {self.key!r}: model has no column {column!r}")
        for role, scope in self.default_scopes.items():
            if scope not in SCOPES:
                found.append(f"record type {self.key!r}: role {role!r} scope {scope!r}")
        for role, grants in self.default_fields.items():
            for key, access in grants.items():
                if key != "*" and key not in keys:
                    found.append(f"record type {self.key!r}: role {role!r} names field {key!r}")
                if access not in ACCESS_LEVELS:
                    found.append(f"record type {self.key!r}: role {role!r} access {access!r}")
        for role, exported in self.default_export.items():
            for key in exported:
                if key != "*" and key not in keys:
                    found.append(f"record type {self.key!r}: role {role!r} exports {key!r}")
        return found
