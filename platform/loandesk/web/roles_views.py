"""Roles and their permissions (角色与权限)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from loandesk import extension
from loandesk.errors import Conflict, ValidationFailed
from loandesk.fields.current import tenant_record_type
from loandesk.plugins import runtime as plugin_runtime
from loandesk.rbac import grants
from loandesk.rbac import service as rbac
from loandesk.rbac.catalog import ADMIN_ROLE
from loandesk.web.auth_views import permission_required
from loandesk.web.forms import FormErrors

bp = Blueprint("admin_roles", __name__, url_prefix="/admin/roles")


def _locale() -> str:
    return str(get_locale() or "zh")


def _groups() -> list[tuple[str, list[tuple[str, str]]]]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for permission in plugin_runtime.grantable_permissions():
        module = permission.name.split(".", 1)[0]
        groups.setdefault(module, []).append((permission.name, permission.label(_locale())))
    return list(groups.items())


@bp.get("", endpoint="roles")
@permission_required("roles.manage")
def role_list() -> Any:
    roles = rbac.list_roles(extension.session())
    holders = rbac.holder_counts(extension.session())
    return render_template(
        "admin/roles.html", roles=roles, holders=holders, locale=_locale(), admin_key=ADMIN_ROLE
    )


@bp.route("/new", methods=["GET", "POST"])
@permission_required("roles.manage")
def role_new() -> Any:
    errors = FormErrors()
    values = _form_values()
    if request.method == "POST":
        try:
            rbac.create_role(
                extension.session(),
                key=values["key"],
                name_zh=values["name_zh"],
                name_en=values["name_en"],
                description=values["description"],
                permissions=values["permissions"],
                available=frozenset(p.name for p in plugin_runtime.grantable_permissions()),
            )
        except (ValidationFailed, Conflict) as problem:
            extension.session().rollback()
            errors.update(problem)
        else:
            extension.session().commit()
            flash(gettext("Role created."), "success")
            return redirect(url_for("tenant.admin_roles.roles"))
    return render_template(
        "admin/role_form.html", role=None, values=values, errors=errors, groups=_groups()
    ), (422 if errors else 200)


@bp.route("/<uuid:role_id>", methods=["GET", "POST"])
@permission_required("roles.manage")
def role_edit(role_id: uuid.UUID) -> Any:
    role = rbac.get_role(extension.session(), role_id)
    errors = FormErrors()
    values: dict[str, Any] = {
        "key": role.key,
        "name_zh": role.name_zh,
        "name_en": role.name_en,
        "description": role.description,
        "permissions": list(role.permissions),
    }
    if request.method == "POST":
        values = {**_form_values(), "key": role.key}
        try:
            rbac.update_role(
                extension.session(),
                role,
                name_zh=values["name_zh"],
                name_en=values["name_en"],
                description=values["description"],
                permissions=None if role.key == ADMIN_ROLE else values["permissions"],
                available=frozenset(p.name for p in plugin_runtime.grantable_permissions()),
            )
        except ValidationFailed as problem:
            extension.session().rollback()
            errors.update(problem)
        else:
            extension.session().commit()
            flash(gettext("Saved."), "success")
            return redirect(url_for("tenant.admin_roles.roles"))
    return render_template(
        "admin/role_form.html",
        role=role,
        values=values,
        errors=errors,
        groups=_groups(),
        admin_key=ADMIN_ROLE,
        record_types=[tenant_record_type(t) for t in plugin_runtime.record_types()],
        record_grants=grants.grants_of(extension.session(), role),
        locale=_locale(),
    ), (422 if errors else 200)


@bp.post("/<uuid:role_id>/delete")
@permission_required("roles.manage")
def role_delete(role_id: uuid.UUID) -> Any:
    role = rbac.get_role(extension.session(), role_id)
    try:
        rbac.delete_role(extension.session(), role)
    except Conflict as problem:
        extension.session().rollback()
        flash(gettext(problem.message, **problem.params), "error")
    else:
        extension.session().commit()
        flash(gettext("Role deleted."), "success")
    return redirect(url_for("tenant.admin_roles.roles"))


def _form_values() -> dict[str, Any]:
    return {
        "key": request.form.get("key", "").strip(),
        "name_zh": request.form.get("name_zh", ""),
        "name_en": request.form.get("name_en", ""),
        "description": request.form.get("description", ""),
        "permissions": request.form.getlist("permissions"),
    }


@bp.route("/<uuid:role_id>/records/<record_type>", methods=["GET", "POST"])
@permission_required("roles.manage")
def role_records(role_id: uuid.UUID, record_type: str) -> Any:
    """One role's data scope, field permissions and export grants for one record type."""
    role = rbac.get_role(extension.session(), role_id)
    declared = tenant_record_type(record_type)
    errors = FormErrors()
    row = grants.grants_of(extension.session(), role).get(declared.key)
    values: dict[str, Any] = {
        "scope": row.scope if row else "",
        "fields": {
            k: (row.fields.get(k, "hidden") if row else "hidden") for k in declared.field_keys
        },
        "export": list(row.export) if row else [],
    }
    if request.method == "POST" and role.key != ADMIN_ROLE:
        values = {
            "scope": request.form.get("scope", ""),
            "fields": {k: request.form.get(f"field-{k}", "hidden") for k in declared.field_keys},
            "export": request.form.getlist("export"),
        }
        try:
            grants.set_grant(
                extension.session(),
                role,
                declared,
                scope=values["scope"] or None,
                fields=values["fields"],
                export=values["export"],
            )
        except (ValidationFailed, Conflict) as problem:
            extension.session().rollback()
            errors.update(problem)
        else:
            extension.session().commit()
            flash(gettext("Saved."), "success")
            return redirect(url_for("tenant.admin_roles.role_edit", role_id=role.id))
    return render_template(
        "admin/role_records.html",
        role=role,
        record_type=declared,
        values=values,
        errors=errors,
        locale=_locale(),
        admin_key=ADMIN_ROLE,
    ), (422 if errors else 200)
