"""The record types' list, the builder page of one record type, its sections, the order of
sections and fields (drag and drop, or up/down buttons), publishing and the versions."""

from __future__ import annotations

import json
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import func, select

from loandesk import extension
from loandesk.api.errors import json_error
from loandesk.auth.users import display_names
from loandesk.errors import Conflict, DomainError, NotFound, ValidationFailed
from loandesk.fields import definitions
from loandesk.fields.current import current_form
from loandesk.fields.models import FormVersion
from loandesk.fields.registry import RecordType
from loandesk.i18n import N_
from loandesk.plugins import runtime as plugin_runtime
from loandesk.web.auth_views import permission_required
from loandesk.web.form_builder import bp
from loandesk.web.form_builder.common import (
    KIND_LABELS,
    arrangement,
    locale,
    partial,
    record_type_of,
    render_fragment_or_page,
    working_layout,
)
from loandesk.web.forms import FormErrors
from loandesk.web.htmx import htmx
from loandesk.web.paging import page_asked

PERMISSION = "fields.manage"
VERSIONS_PER_PAGE = 20


@bp.get("", endpoint="forms")
@permission_required(PERMISSION)
def record_types() -> Any:
    session = extension.session()
    rows = [
        {
            "record_type": t,
            "version": current_form(t).version,
            "unpublished": definitions.has_unpublished_changes(session, t.key),
            "fields": definitions.field_count(session, t.key),
        }
        for t in plugin_runtime.record_types()
    ]
    return render_template("admin/form_builder/index.html", rows=rows, locale=locale())


def _builder(record_type: RecordType, status: int = 200, **extra: Any) -> Any:
    """The builder page (or, to htmx, its layout fragment) of ``record_type``."""
    session = extension.session()
    context: dict[str, Any] = {
        "record_type": record_type,
        "layout": working_layout(session, record_type),
        "version": current_form(record_type).version,
        "unpublished": definitions.has_unpublished_changes(session, record_type.key),
        "recent": _versions_page(record_type, 1, per_page=3)[0],
        "kind_labels": KIND_LABELS,
        "locale": locale(),
        "errors": FormErrors(),
        "section_values": {"key": "", "label_zh": "", "label_en": ""},
        "note": "",
        **extra,
    }
    page = render_fragment_or_page(
        "admin/form_builder/_layout.html", "admin/form_builder/builder.html", **context
    )
    return page, status


def _to_builder(record_type: RecordType, anchor: str | None = None) -> Any:
    return redirect(
        url_for("tenant.admin_forms.builder", record_type=record_type.key, _anchor=anchor)
    )


def _failed(record_type: RecordType, problem: DomainError, **extra: Any) -> Any:
    """The builder again with the service's message (its 409 or 422 status); to a boosted
    form, the message as JSON (shown as a toast, the page left as it is)."""
    extension.session().rollback()
    message = (
        gettext(problem.message, **problem.params) if problem.params else gettext(problem.message)
    )
    if htmx:
        return json_error(problem.status, message)
    return _builder(record_type, problem.status, problem=message, **extra)


@bp.get("/<record_type>", endpoint="builder")
@permission_required(PERMISSION)
def builder(record_type: str) -> Any:
    return _builder(record_type_of(record_type))


# --- sections -----------------------------------------------------------------------------


@bp.post("/<record_type>/sections", endpoint="section_save")
@permission_required(PERMISSION)
def section_save(record_type: str) -> Any:
    """Add a section (``key`` new) or rename one (``rename`` set, ``key`` existing)."""
    declared = record_type_of(record_type)
    session = extension.session()
    values = {k: request.form.get(k, "").strip() for k in ("key", "label_zh", "label_en")}
    renaming = bool(request.form.get("rename"))
    existing = {s.key for s in working_layout(session, declared)[1:]}
    errors = FormErrors()
    if renaming and values["key"] not in existing:
        raise NotFound(N_("No such section."))
    if not renaming and values["key"] in existing:
        errors.add("key", gettext("A section with this key exists; choose another key."))
    else:
        try:
            definitions.save_section(session, declared, values)
        except ValidationFailed as problem:
            session.rollback()
            errors.update(problem)
    if errors:
        target = values["key"] if renaming else ""
        return _builder(
            declared, 422, errors=errors, section_values=values, errors_for=target or None
        )
    session.commit()
    label = values["label_zh"] if locale().startswith("zh") else values["label_en"]
    flash(
        gettext("Section %(name)s renamed.", name=label)
        if renaming
        else gettext("Section %(name)s added.", name=label),
        "success",
    )
    return _to_builder(declared, f"section-{values['key']}")


@bp.post("/<record_type>/sections/<key>/delete", endpoint="section_delete")
@permission_required(PERMISSION)
def section_delete(record_type: str, key: str) -> Any:
    declared = record_type_of(record_type)
    try:
        definitions.delete_section(extension.session(), declared, key)
    except Conflict as problem:
        return _failed(declared, problem)
    extension.session().commit()
    flash(gettext("Section deleted."), "success")
    return _to_builder(declared)


# --- order --------------------------------------------------------------------------------


def _arranged(declared: RecordType, layout: list[dict[str, Any]], focus: str = "") -> Any:
    session = extension.session()
    try:
        definitions.arrange(session, declared, layout)
    except ValidationFailed as problem:
        session.rollback()
        # The page was out of date (someone else changed the form): show it as it is now.
        messages = [m for found in problem.errors.values() for m in found]
        return _builder(declared, 422, problem=" ".join(messages) or gettext(problem.message))
    session.commit()
    if not partial():
        flash(gettext("Order saved."), "success")
        return _to_builder(declared, focus or None)
    return _builder(declared, saved=gettext("Order saved."), focus=focus)


@bp.post("/<record_type>/arrange", endpoint="arrange")
@permission_required(PERMISSION)
def arrange(record_type: str) -> Any:
    """The whole layout after a drop: ``layout`` = JSON ``[{"section", "fields"}, ...]``."""
    declared = record_type_of(record_type)
    try:
        posted = json.loads(request.form.get("layout", ""))
        layout = [
            {"section": str(e["section"]), "fields": [str(k) for k in e["fields"]]} for e in posted
        ]
    except (ValueError, TypeError, KeyError):
        return _builder(declared, 400, problem=gettext("The request could not be understood."))
    return _arranged(declared, layout)


@bp.post("/<record_type>/move", endpoint="move")
@permission_required(PERMISSION)
def move(record_type: str) -> Any:
    """The keyboard's way to reorder: one field (or section) one step up or down; a field at
    the edge of its section moves into the next section."""
    declared = record_type_of(record_type)
    layout = arrangement(working_layout(extension.session(), declared))
    step = -1 if request.form.get("direction") == "up" else 1
    field_key, section_key = request.form.get("field"), request.form.get("section")
    if field_key:
        _move_field(layout, field_key, step)
        focus = f"move-{'up' if step < 0 else 'down'}-{field_key}"
    elif section_key:
        index = next((i for i, e in enumerate(layout) if e["section"] == section_key), None)
        if index is None or index == 0:
            raise NotFound(N_("No such section."))
        other = index + step
        if 1 <= other < len(layout):
            layout[index], layout[other] = layout[other], layout[index]
        focus = f"section-{'up' if step < 0 else 'down'}-{section_key}"
    else:
        raise NotFound(N_("No such field."))
    return _arranged(declared, layout, focus)


def _move_field(layout: list[dict[str, Any]], key: str, step: int) -> None:
    for index, entry in enumerate(layout):
        if key not in entry["fields"]:
            continue
        keys = entry["fields"]
        position = keys.index(key)
        if 0 <= position + step < len(keys):
            keys[position], keys[position + step] = keys[position + step], keys[position]
        elif 0 <= index + step < len(layout):
            keys.remove(key)
            target = layout[index + step]["fields"]
            target.insert(len(target) if step < 0 else 0, key)
        return
    raise NotFound(N_("No such field."))


# --- publishing ---------------------------------------------------------------------------


@bp.post("/<record_type>/publish", endpoint="publish")
@permission_required(PERMISSION)
def publish(record_type: str) -> Any:
    declared = record_type_of(record_type)
    session = extension.session()
    note = request.form.get("note", "").strip()
    try:
        version = definitions.publish(session, declared, user_id=g.user.id, note=note)
    except Conflict as problem:
        return _failed(declared, problem, note=note)
    except ValidationFailed as problem:
        session.rollback()
        return _builder(
            declared,
            422,
            problem=gettext(problem.message),
            publish_errors=_publish_errors(problem),
            note=note,
        )
    session.commit()
    flash(gettext("Version %(number)s published.", number=version.number), "success")
    return _to_builder(declared)


def _publish_errors(problem: ValidationFailed) -> list[tuple[str, str, list[str]]]:
    """``(field key, what, messages)``: the service names them ``key.what``."""
    found = []
    for name, messages in problem.errors.items():
        key, _, what = name.partition(".")
        found.append((key, what, messages))
    return found


def _versions_page(
    record_type: RecordType, page: int, per_page: int = VERSIONS_PER_PAGE
) -> tuple[list[dict[str, Any]], int]:
    """One page of published versions, newest first, each with the custom fields it added
    and hid compared to the version before it; and how many versions there are."""
    session = extension.session()
    wanted = select(FormVersion).where(FormVersion.record_type == record_type.key)
    total = session.scalar(select(func.count()).select_from(wanted.subquery())) or 0
    rows = list(
        session.scalars(
            wanted.order_by(FormVersion.number.desc())
            .offset((page - 1) * per_page)
            .limit(per_page + 1)  # the one before the page's last, to compare with
        )
    )
    names = display_names(session, [r.published_by_id for r in rows if r.published_by_id])
    found = []
    for index, row in enumerate(rows[:per_page]):
        before = rows[index + 1] if index + 1 < len(rows) else None
        if before is None and row.number > 1:
            before = session.scalar(
                select(FormVersion).where(
                    FormVersion.record_type == record_type.key,
                    FormVersion.number == row.number - 1,
                )
            )
        after_fields = {f["key"]: f for f in row.layout.get("fields", [])}
        before_fields = {f["key"]: f for f in before.layout.get("fields", [])} if before else {}
        found.append(
            {
                "version": row,
                "by": names.get(row.published_by_id, "") if row.published_by_id else "",
                "added": [after_fields[k] for k in after_fields if k not in before_fields],
                "hidden": [before_fields[k] for k in before_fields if k not in after_fields],
            }
        )
    return found, total


class _Page:
    def __init__(self, page: int, per_page: int, total: int) -> None:
        self.page, self.per_page, self.total = page, per_page, total


@bp.get("/<record_type>/versions", endpoint="versions")
@permission_required(PERMISSION)
def versions(record_type: str) -> Any:
    declared = record_type_of(record_type)
    page = page_asked()
    rows, total = _versions_page(declared, page)
    return render_template(
        "admin/form_builder/versions.html",
        record_type=declared,
        rows=rows,
        result=_Page(page, VERSIONS_PER_PAGE, total),
        locale=locale(),
    )
