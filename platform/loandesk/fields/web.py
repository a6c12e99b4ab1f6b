"""What the record form and detail macros (``templates/partials/record_form.html``) need, for
any record type: the form, the values, which fields the user may see and edit, which are
shown by their conditions, names for ids (staff, linked records, regions, files) and the
choices of pickers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from loandesk import extension
from loandesk.fields.forms import Form
from loandesk.fields.registry import FieldSpec
from loandesk.rbac.access import RecordAccess

PICKER_LIMIT = 500  # a select lists at most this many records or staff


@dataclass
class RecordView:
    form: Form
    access: RecordAccess
    locale: str
    values: Mapping[str, Any]
    errors: Any = None
    refresh_url: str = ""
    names: dict[str, dict[str, Any]] = field(default_factory=dict)
    choices: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @property
    def visible(self) -> set[str]:
        return {f.key for f in self.form.fields if self.access.access(f.key) != "hidden"}

    @property
    def editable(self) -> set[str]:
        return {
            f.key
            for f in self.form.fields
            if self.access.access(f.key) == "edit" and not f.read_only
        }

    @property
    def computed(self) -> set[str]:
        return {f.key for f in self.form.fields if f.computed and f.key in self.visible}

    @property
    def shown(self) -> set[str]:
        # conditions see typed values: a form being filled in holds the posted text
        return self.form.shown(typed(self.form, self.values))

    @property
    def drivers(self) -> set[str]:
        """Fields that conditions or formulas name: changing one re-renders the form."""
        names: set[str] = set()
        for expression in self.form.conditions.values():
            names |= expression.names
        for _spec, expression in self.form.formulas:
            names |= expression.names
        return names


def submitted(form: Form, data: MultiDict[str, str], keys: Iterable[str]) -> dict[str, Any]:
    """The raw values of ``keys`` in a submitted HTML form (a multi select as a list; a field
    whose input is absent, such as an unticked radio, is not given)."""
    values: dict[str, Any] = {}
    for key in keys:
        spec = form.field(key)
        if spec.kind == "multi_select":
            values[key] = data.getlist(key)
        elif spec.kind == "region":
            parts = [p for p in data.getlist(key) if p]
            values[key] = parts[-1] if parts else ""
        elif key in data:
            values[key] = data.get(key, "")
    return values


def choices(form: Form, keys: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """The options of user and link pickers among ``keys``."""
    from loandesk.auth.users import active_staff
    from loandesk.rbac.current import record_access

    session = extension.session()
    found: dict[str, list[tuple[str, str]]] = {}
    staff: list[tuple[str, str]] | None = None
    for key in keys:
        spec = form.field(key)
        if spec.kind == "user":
            if staff is None:
                staff = [(str(u.id), u.display_name) for u in active_staff(session)]
            found[key] = staff
        elif spec.kind == "link" and spec.link_type:
            access = record_access(spec.link_type)
            if not access.can_read:
                found[key] = []
                continue
            model: Any = access.record_type.model
            title = getattr(model, access.record_type.title_field)
            rows = session.execute(
                access.where(select(model.id, title)).order_by(title).limit(PICKER_LIMIT)
            )
            found[key] = [(str(r[0]), str(r[1])) for r in rows]
    return found


def names(form: Form, records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Display names for the ids in ``records``' values: staff, linked records (title and
    link), regions, uploaded files (name and link)."""
    from loandesk.auth.users import display_names
    from loandesk.fields import regions

    rows = list(records)
    found: dict[str, dict[str, Any]] = {}
    session = extension.session()
    for spec in form.fields:
        ids = {r.get(spec.key) for r in rows} - {None, ""}
        if not ids:
            continue
        if spec.kind == "user":
            users = display_names(session, [i for i in ids if isinstance(i, uuid.UUID)])
            found[spec.key] = {str(k): v for k, v in users.items()}
        elif spec.kind == "region":
            found[spec.key] = {str(c): regions.label(str(c)) for c in ids}
        elif spec.kind == "link" and spec.link_type:
            found[spec.key] = _link_titles(spec, ids)
        elif spec.kind == "attachment":
            found[spec.key] = _attachment_names(ids)
    return found


def _link_titles(spec: FieldSpec, ids: set[Any]) -> dict[str, Any]:
    from loandesk.rbac.current import record_access

    access = record_access(spec.link_type or "")
    if not access.can_read:
        return {}
    model: Any = access.record_type.model
    title = getattr(model, access.record_type.title_field)
    rows = extension.session().execute(
        access.where(select(model.id, title)).where(model.id.in_(ids))
    )
    endpoint = access.record_type.detail_endpoint
    found: dict[str, Any] = {}
    for ident, text in rows:
        link = url_for(endpoint, **{f"{spec.link_type}_id": ident}) if endpoint else ""
        found[str(ident)] = (str(text), link)
    return found


def _attachment_names(ids: set[Any]) -> dict[str, Any]:
    try:
        from loandesk.fields.attachments import names_and_links
    except ImportError:
        return {}
    return names_and_links(extension.session(), ids)


def typed(form: Form, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Posted values as conditions and formulas see them (a value that does not parse yet
    counts as empty), with computed fields computed: what re-rendering a form needs while
    the user types."""
    from loandesk.fields.values import Invalid, coerce_result, parse

    values: dict[str, Any] = {}
    for key, value in raw.items():
        if form.has(key) and not form.field(key).computed:
            try:
                values[key] = parse(form.field(key), value)
            except Invalid:
                values[key] = None
    for spec, expression in form.formulas:
        values[spec.key] = coerce_result(spec, expression.evaluate(values))
    return values
