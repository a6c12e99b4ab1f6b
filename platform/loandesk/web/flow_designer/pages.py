"""The record types' flows, the designer of one, and its edits: insert a node ("+"), delete a
node or branch, add and reorder branches, save the side panel, rename the flow. Every edit
is a POST that saves the whole draft; htmx gets the designer fragment back, a plain form a
redirect to the designer with the edited node selected."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request
from flask_babel import gettext

from loandesk import extension
from loandesk.errors import ValidationFailed
from loandesk.web.auth_views import permission_required
from loandesk.web.flow_designer import bp, edit, panel
from loandesk.web.flow_designer.common import (
    PERMISSION,
    Draft,
    designer_url,
    differs,
    flow_record_types,
    load_draft,
    locale,
    node_names,
    partial,
    published,
    record_type_of,
    render,
    save,
    select_item,
)
from loandesk.web.forms import FormErrors


@bp.get("", endpoint="flows")
@permission_required(PERMISSION)
def flows() -> Any:
    session = extension.session()
    rows = []
    for record_type in flow_record_types():
        draft = load_draft(record_type)
        version = published(session, draft.row)
        rows.append(
            {
                "record_type": record_type,
                "name": draft.name if draft.row else "",
                "version": version,
                "differs": draft.row is not None and differs(draft, version),
            }
        )
    return render_template("admin/flow_designer/index.html", rows=rows, locale=locale())


@bp.get("/<record_type>", endpoint="designer")
@permission_required(PERMISSION)
def designer(record_type: str) -> Any:
    draft = load_draft(record_type_of(record_type))
    return render(draft, selected=select_item(draft, request.args.get("node")))


def _changed(draft: Draft, tree: dict[str, Any], select: str | None, done: str) -> Any:
    """Save ``tree`` as the draft; the designer (htmx) or a redirect to it, ``select``ed."""
    try:
        save(draft, tree)
    except ValidationFailed as problem:
        extension.session().rollback()
        return _refused(draft, gettext(problem.message, **problem.params))
    if not partial():
        flash(done, "success")
        return redirect(designer_url(draft.record_type, select))
    response, status = render(draft, selected=select_item(draft, select), message=done)
    return response, status, {"HX-Replace-Url": designer_url(draft.record_type, select)}


def _refused(draft: Draft, message: str, status: int = 422) -> Any:
    """The designer as it is, with why the edit was not made."""
    return render(draft, status, problem=message)


def _edit(draft: Draft, change: Any) -> Any:
    """``change()`` on the draft, or the designer with the reason it cannot be made."""
    try:
        return change()
    except edit.EditError as problem:
        return _refused(draft, gettext(problem.message), 409)


@bp.post("/<record_type>/insert", endpoint="insert")
@permission_required(PERMISSION)
def insert(record_type: str) -> Any:
    """A node of ``kind`` into the sequence ``where`` (a branch id; empty: the top level),
    after the node ``after`` (empty: first)."""
    draft = load_draft(record_type_of(record_type))
    kind = request.form.get("kind", "")

    def change() -> Any:
        node = edit.new_node(draft.tree, kind, node_names())
        tree = edit.insert(
            draft.tree, request.form.get("where", ""), request.form.get("after", ""), node
        )
        # a new condition node opens its first branch: its condition is what to write next
        select = node["branches"][0]["id"] if kind == "branch" else node["id"]
        return _changed(draft, tree, select, gettext("Node added."))

    return _edit(draft, change)


@bp.post("/<record_type>/nodes/<item_id>/delete", endpoint="delete")
@permission_required(PERMISSION)
def delete(record_type: str, item_id: str) -> Any:
    draft = load_draft(record_type_of(record_type))
    return _edit(
        draft, lambda: _changed(draft, edit.delete(draft.tree, item_id), None, gettext("Deleted."))
    )


@bp.post("/<record_type>/nodes/<item_id>/branches", endpoint="add_branch")
@permission_required(PERMISSION)
def add_branch(record_type: str, item_id: str) -> Any:
    draft = load_draft(record_type_of(record_type))

    def change() -> Any:
        count = len(edit.find(draft.tree, item_id)[0].get("branches") or [])
        tree, branch_id = edit.add_branch(
            draft.tree, item_id, gettext("Condition %(number)s", number=count)
        )
        return _changed(draft, tree, branch_id, gettext("Branch added."))

    return _edit(draft, change)


@bp.post("/<record_type>/nodes/<item_id>/move", endpoint="move_branch")
@permission_required(PERMISSION)
def move_branch(record_type: str, item_id: str) -> Any:
    draft = load_draft(record_type_of(record_type))
    step = -1 if request.form.get("direction") == "up" else 1
    return _edit(
        draft,
        lambda: _changed(
            draft,
            edit.move_branch(draft.tree, item_id, step),
            request.form.get("selected") or None,
            gettext("Branch order saved."),
        ),
    )


@bp.post("/<record_type>/nodes/<item_id>", endpoint="save_node")
@permission_required(PERMISSION)
def save_node(record_type: str, item_id: str) -> Any:
    """The side panel: the node's (or branch's) settings; refused with errors next to the
    inputs when they cannot be read, else saved with the draft's problems on the cards."""
    draft = load_draft(record_type_of(record_type))
    selected = select_item(draft, item_id, request.form)
    if selected is None:
        return _refused(
            draft,
            gettext("This node is no longer in the flow; the page was out of date."),
            409,
        )
    settings, problems = panel.read(selected.item, selected.is_branch, request.form, draft.form)
    if problems:
        for key, messages in problems.items():
            for text in messages:
                selected.errors.add(key, gettext(text))
        return render(draft, 422, selected=selected)
    tree = edit.replace(draft.tree, item_id, settings)
    return _changed(draft, tree, item_id, gettext("Saved."))


@bp.post("/<record_type>/name", endpoint="rename")
@permission_required(PERMISSION)
def rename(record_type: str) -> Any:
    draft = load_draft(record_type_of(record_type))
    name = request.form.get("name", "")
    try:
        save(draft, draft.tree, name=name)
    except ValidationFailed as problem:
        extension.session().rollback()
        errors = FormErrors()
        errors.update(problem)
        return render(draft, 422, name_errors=errors, name_value=name)
    if not partial():
        flash(gettext("Flow name saved."), "success")
        return redirect(designer_url(draft.record_type))
    return render(draft, message=gettext("Flow name saved."))
