"""The organisation tree (组织架构): units, their heads, and how many staff sit in each."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from loandesk import extension
from loandesk.auth import users
from loandesk.errors import Conflict, ValidationFailed
from loandesk.plugins import runtime as plugin_runtime
from loandesk.rbac import org
from loandesk.web.admin_views import _uuid_or_none
from loandesk.web.auth_views import permission_required
from loandesk.web.forms import FormErrors

bp = Blueprint("admin_org", __name__, url_prefix="/admin/org")


def _context(errors: FormErrors, values: dict[str, Any], unit: Any = None) -> dict[str, Any]:
    session = extension.session()
    tree = org.Tree.load(session)
    people = {u.id: u.display_name for u in users.active_staff(session)}
    return {
        "rows": tree.walk(),
        "counts": org.staff_counts(session),
        "people": people,
        "unit": unit,
        "errors": errors,
        "values": values,
        "parent_options": [
            (str(u.id), "\u3000" * d + u.name)
            for d, u in tree.walk()
            if u.kind != "team" and (unit is None or u.id not in tree.subtree(unit.id))
        ],
        "head_options": [("", gettext("No head"))] + [(str(k), v) for k, v in people.items()],
    }


def _values() -> dict[str, str]:
    return {
        k: request.form.get(k, "").strip() for k in ("parent_id", "name", "kind", "head_user_id")
    }


@bp.route("", methods=["GET", "POST"], endpoint="org")
@permission_required("org.manage")
def org_tree() -> Any:
    errors = FormErrors()
    values = {"parent_id": "", "name": "", "kind": "team", "head_user_id": ""}
    if request.method == "POST":
        values = _values()
        try:
            org.create_unit(
                extension.session(),
                parent_id=_uuid_or_none(values["parent_id"], "parent_id")
                or org.company(extension.session()).id,
                name=values["name"],
                kind=values["kind"],
                head_user_id=_uuid_or_none(values["head_user_id"], "head_user_id"),
            )
        except ValidationFailed as problem:
            extension.session().rollback()
            errors.update(problem)
        else:
            extension.session().commit()
            flash(gettext("Unit added."), "success")
            return redirect(url_for("tenant.admin_org.org"))
    return render_template("admin/org.html", **_context(errors, values)), (422 if errors else 200)


@bp.route("/<uuid:unit_id>", methods=["GET", "POST"], endpoint="unit")
@permission_required("org.manage")
def unit_edit(unit_id: uuid.UUID) -> Any:
    unit = org.get_unit(extension.session(), unit_id)
    errors = FormErrors()
    values = {
        "parent_id": str(unit.parent_id or ""),
        "name": unit.name,
        "kind": unit.kind,
        "head_user_id": str(unit.head_user_id or ""),
    }
    if request.method == "POST":
        values = _values()
        try:
            org.update_unit(
                extension.session(),
                unit,
                name=values["name"],
                kind=values["kind"] or unit.kind,
                parent_id=_uuid_or_none(values["parent_id"], "parent_id"),
                head_user_id=_uuid_or_none(values["head_user_id"], "head_user_id"),
            )
        except ValidationFailed as problem:
            extension.session().rollback()
            errors.update(problem)
        else:
            extension.session().commit()
            flash(gettext("Saved."), "success")
            return redirect(url_for("tenant.admin_org.org"))
    return render_template("admin/org_unit.html", **_context(errors, values, unit)), (
        422 if errors else 200
    )


@bp.post("/<uuid:unit_id>/delete", endpoint="delete")
@permission_required("org.manage")
def unit_delete(unit_id: uuid.UUID) -> Any:
    unit = org.get_unit(extension.session(), unit_id)
    try:
        org.delete_unit(extension.session(), unit, plugin_runtime.record_types())
    except Conflict as problem:
        extension.session().rollback()
        flash(gettext(problem.message, **problem.params), "error")
    else:
        extension.session().commit()
        flash(gettext("Unit deleted."), "success")
    return redirect(url_for("tenant.admin_org.org"))
