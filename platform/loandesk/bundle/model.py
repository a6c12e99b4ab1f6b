"""The files of a tenant bundle: one marshmallow schema per file, reading and writing YAML.

A bundle is a folder with one file per section, a ``fields/`` folder with one file per
record type that has custom fields or sections, and a ``flows/`` folder with one file per
record type with a published approval flow, ``automations.yaml`` with the automation
rules, ``reports.yaml`` with the saved reports and ``dashboards.yaml`` with the dashboards
and each role's default. Each file is optional on apply (a missing file
leaves its section as it is); export writes all of them. Sections that later issues add
join as new files or folders without changing these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import marshmallow as ma
import yaml
from marshmallow import validate

from loandesk.fields.definitions import DefinitionSchema, SectionSchema
from loandesk.fields.registry import ACCESS_LEVELS, KEY_PATTERN, SCOPES
from loandesk.i18n import LOCALES
from loandesk.rbac.org import KINDS
from loandesk.reports.datasets import GLOBAL_FILTERS
from loandesk.reports.models import CHART_TYPES
from loandesk.reports.query import MAX_LIMIT

FORMAT = 1
FOREVER = "forever"
FIELDS_FOLDER = "fields"  # fields/<record type>.yaml
FLOWS_FOLDER = "flows"  # flows/<record type>.yaml


class BundleInvalid(Exception):
    """The bundle cannot be applied; ``problems`` are lines "file: path: message"."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


def _timezone(value: str) -> None:
    if value not in available_timezones():
        raise ma.ValidationError("Unknown time zone.")
    ZoneInfo(value)


class _Session(_Strict):
    idle_minutes = ma.fields.Integer(required=True, strict=True)
    absolute_hours = ma.fields.Integer(required=True, strict=True)


class TenantFile(_Strict):
    format = ma.fields.Integer(required=True, validate=validate.Equal(FORMAT))
    timezone = ma.fields.String(required=True, validate=_timezone)
    locale = ma.fields.String(required=True, validate=validate.OneOf(LOCALES))
    session = ma.fields.Nested(_Session, required=True)
    require_two_factor = ma.fields.Boolean(required=True)


class _Access(_Strict):
    scope = ma.fields.String(required=True, validate=validate.OneOf(SCOPES))
    field_access = ma.fields.Dict(
        data_key="fields",
        keys=ma.fields.String(),
        values=ma.fields.String(validate=validate.OneOf(ACCESS_LEVELS)),
        load_default=dict,
    )
    export = ma.fields.List(ma.fields.String(), load_default=list)


class _Role(_Strict):
    key = ma.fields.String(required=True)
    builtin = ma.fields.Boolean(load_default=False)
    name_zh = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    description = ma.fields.String(load_default="")
    permissions = ma.fields.List(ma.fields.String(), load_default=list)
    record_access = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Nested(_Access), load_default=dict
    )


class RolesFile(_Strict):
    roles = ma.fields.List(ma.fields.Nested(_Role), required=True)


class _Unit(_Strict):
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf(KINDS[1:]))
    head = ma.fields.Email(load_default=None, allow_none=True)
    units = ma.fields.List(ma.fields.Nested(lambda: _Unit()), load_default=list)


class _Company(_Strict):
    name = ma.fields.String(required=True)
    head = ma.fields.Email(load_default=None, allow_none=True)
    units = ma.fields.List(ma.fields.Nested(_Unit), load_default=list)


class OrgFile(_Strict):
    company = ma.fields.Nested(_Company, required=True)


class _Plugin(_Strict):
    enabled = ma.fields.Boolean(required=True)
    settings = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)


class PluginsFile(_Strict):
    plugins = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Nested(_Plugin), required=True
    )


class _Days(ma.fields.Field):
    """A retention period: whole days, or ``forever``."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int | None:
        if value == FOREVER:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ma.ValidationError('Use a whole number of days, or "forever".')
        return value


class PrivacyFile(_Strict):
    data_request_due_days = ma.fields.Integer(required=True, strict=True)
    retention = ma.fields.Dict(keys=ma.fields.String(), values=_Days(), load_default=dict)


class _Field(DefinitionSchema):
    """A custom field: its whole definition as the API shows it, and whether it is removed
    (hidden from the form; records keep their values, so the definition stays)."""

    removed = ma.fields.Boolean(load_default=False)


class FieldsFile(_Strict):
    """A record type's custom fields and sections, in form order (``fields/<type>.yaml``)."""

    published = ma.fields.Boolean(required=True)
    sections = ma.fields.List(ma.fields.Nested(SectionSchema), load_default=list)
    # ``fields`` is a Schema's own attribute: the list is loaded as ``custom_fields``
    custom_fields = ma.fields.List(ma.fields.Nested(_Field), load_default=list, data_key="fields")


class FlowFile(_Strict):
    """A record type's approval flow in force (``flows/<type>.yaml``): its name and tree,
    staff named by e-mail and org units by their path of names (``loandesk.bundle.flows``)."""

    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    nodes = ma.fields.List(ma.fields.Dict(keys=ma.fields.String()), required=True)


class _Rule(_Strict):
    """An automation rule as the API carries it, a staff member named by e-mail."""

    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    record_type = ma.fields.String(required=True, validate=validate.Regexp(KEY_PATTERN))
    trigger = ma.fields.Dict(keys=ma.fields.String(), required=True)
    condition = ma.fields.String(load_default="")
    actions = ma.fields.List(ma.fields.Dict(keys=ma.fields.String()), required=True)
    enabled = ma.fields.Boolean(load_default=True)


class AutomationsFile(_Strict):
    """The tenant's automation rules (``automations.yaml``; ``loandesk.bundle.automations``)."""

    rules = ma.fields.List(ma.fields.Nested(_Rule), required=True)


class _ReportSpec(_Strict):
    """A report's spec as the API takes it (``loandesk.reports.query``), with its defaults."""

    dimensions = ma.fields.List(ma.fields.Raw(), load_default=list)
    measures = ma.fields.List(ma.fields.String(), required=True)
    filters = ma.fields.List(ma.fields.String(), load_default=list)
    sort = ma.fields.String(load_default="")
    limit = ma.fields.Integer(load_default=MAX_LIMIT, strict=True)


class _Report(_Strict):
    """A saved report, its owner named by e-mail (``loandesk.bundle.reports``)."""

    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    description = ma.fields.String(load_default="")
    dataset = ma.fields.String(required=True)
    spec = ma.fields.Nested(_ReportSpec, required=True)
    chart_type = ma.fields.String(load_default="table", validate=validate.OneOf(CHART_TYPES))
    shared_with_roles = ma.fields.List(ma.fields.String(), load_default=list)
    owner = ma.fields.Email(load_default=None, allow_none=True)


class ReportsFile(_Strict):
    """The tenant's saved reports by name (``reports.yaml``)."""

    reports = ma.fields.List(ma.fields.Nested(_Report), required=True)


class _Tile(_Strict):
    report = ma.fields.String(required=True)
    x = ma.fields.Integer(required=True, strict=True)
    y = ma.fields.Integer(required=True, strict=True)
    w = ma.fields.Integer(required=True, strict=True)
    h = ma.fields.Integer(required=True, strict=True)


class _Dashboard(_Strict):
    """A dashboard, its tiles naming reports by name and its owner by e-mail."""

    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    description = ma.fields.String(load_default="")
    tiles = ma.fields.List(ma.fields.Nested(_Tile), load_default=list)
    filters = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(GLOBAL_FILTERS)), load_default=list
    )
    refresh_seconds = ma.fields.Integer(load_default=None, allow_none=True, strict=True)
    shared_with_roles = ma.fields.List(ma.fields.String(), load_default=list)
    owner = ma.fields.Email(load_default=None, allow_none=True)


class DashboardsFile(_Strict):
    """The tenant's dashboards by name, and the default dashboard of roles by their key
    (``dashboards.yaml``)."""

    dashboards = ma.fields.List(ma.fields.Nested(_Dashboard), required=True)
    role_defaults = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.String(), load_default=dict
    )


def fields_file_name(record_type: str) -> str:
    return f"{FIELDS_FOLDER}/{record_type}.yaml"


def record_type_of(name: str) -> str | None:
    """``customer`` for ``fields/customer.yaml``; None for a file of another section."""
    folder, _, rest = name.partition("/")
    return rest.removesuffix(".yaml") if folder == FIELDS_FOLDER and rest else None


def flow_file_name(record_type: str) -> str:
    return f"{FLOWS_FOLDER}/{record_type}.yaml"


def flow_type_of(name: str) -> str | None:
    """``application`` for ``flows/application.yaml``; None for a file of another section."""
    folder, _, rest = name.partition("/")
    return rest.removesuffix(".yaml") if folder == FLOWS_FOLDER and rest else None


# The files in the order they are applied: plugins before the roles that grant their
# permissions and record types, and before the retention periods of their records.
FILES: dict[str, type[ma.Schema]] = {
    "tenant.yaml": TenantFile,
    "plugins.yaml": PluginsFile,
    "org.yaml": OrgFile,
    "roles.yaml": RolesFile,
    "privacy.yaml": PrivacyFile,
    "automations.yaml": AutomationsFile,
    "reports.yaml": ReportsFile,
    "dashboards.yaml": DashboardsFile,
}


def read(
    folder: Path, plugin_files: Mapping[str, type[ma.Schema]] | None = None
) -> dict[str, dict[str, Any]]:
    """The bundle in ``folder``, each present file parsed and checked against its schema;
    ``BundleInvalid`` lists every problem (file and path) when any file is wrong.
    ``plugin_files``: the files installed plugins add (``loandesk_bundle_files``), by name."""
    if not folder.is_dir():
        raise BundleInvalid([f"{folder}: not a folder"])
    known = {**FILES, **(plugin_files or {})}
    problems: list[str] = []
    loaded: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix in (".yaml", ".yml") and path.name not in known:
            problems.append(f"{path.name}: unknown file (expected {', '.join(known)})")
    for name, schema in known.items():
        if (folder / name).exists():
            _load(folder / name, name, schema, loaded, problems)
    for section, file_schema in ((FIELDS_FOLDER, FieldsFile), (FLOWS_FOLDER, FlowFile)):
        inner = folder / section
        for path in sorted(inner.iterdir()) if inner.is_dir() else ():
            name = f"{section}/{path.name}"
            if path.suffix not in (".yaml", ".yml"):
                continue
            if path.suffix != ".yaml" or not KEY_PATTERN.match(path.stem):
                problems.append(f"{name}: unknown file (expected {section}/<record type>.yaml)")
                continue
            _load(path, name, file_schema, loaded, problems)
    if problems:
        raise BundleInvalid(problems)
    return loaded


def _load(
    path: Path,
    name: str,
    schema: type[ma.Schema],
    loaded: dict[str, dict[str, Any]],
    problems: list[str],
) -> None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(f"{name}: not valid YAML: {exc}")
        return
    try:
        loaded[name] = schema().load(data if data is not None else {})
    except ma.ValidationError as exc:
        problems.extend(f"{name}: {where}: {message}" for where, message in flat(exc.messages))


def flat(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """marshmallow's nested error dict as (path, message) pairs: ``roles[2].permissions``."""
    if isinstance(messages, Mapping):
        found = []
        for key, value in messages.items():
            if key == "_schema":
                step = prefix or "(top)"
            elif isinstance(key, int):
                step = f"{prefix}[{key}]"
            else:
                step = f"{prefix}.{key}" if prefix else str(key)
            found.extend(flat(value, step))
        return found
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [(prefix or "(top)", m) for m in messages]
    if isinstance(messages, list):
        return [pair for m in messages for pair in flat(m, prefix)]
    return [(prefix or "(top)", str(messages))]


def dump(data: Mapping[str, Any]) -> str:
    """YAML as people read it: keys in the order given, Chinese as it is, block style."""
    return yaml.safe_dump(
        dict(data), allow_unicode=True, sort_keys=False, default_flow_style=False, width=100
    )


def write(
    folder: Path, files: Mapping[str, Mapping[str, Any]], plugin_files: Iterable[str] = ()
) -> list[Path]:
    """Write the files; the ``fields/`` and ``flows/`` folders are export's own: a file of a
    record type that no longer has custom fields or a flow (or whose plugin is off) is
    deleted, not left to be applied. So is a file of ``plugin_files`` (every file plugins
    add) that was not written: its plugin is off."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(exist_ok=True)
        header = f"# LoanDesk tenant bundle, format {FORMAT}: {name} (see tenants/README.md)\n"
        path.write_text(header + dump(data), encoding="utf-8")
        written.append(path)
    for section in (FIELDS_FOLDER, FLOWS_FOLDER):
        for stale in sorted((folder / section).glob("*.yaml")):
            if stale not in written:
                stale.unlink()
    for name in plugin_files:
        if name not in files and (folder / name).is_file():
            (folder / name).unlink()
    return written
