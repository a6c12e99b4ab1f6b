"""Tenant administration: staff accounts (with their two-factor reset) and API clients."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from loandesk import extension
from loandesk.auth import clients, two_factor, users
from loandesk.errors import Conflict, Forbidden, ValidationFailed
from loandesk.i18n import N_
from loandesk.rbac import org
from loandesk.rbac import service as rbac
from loandesk.tenancy import current
from loandesk.web.auth_views import permission_required
from loandesk.web.forms import FormErrors
from loandesk.web.htmx import htmx
from loandesk.web.paging import page_asked
from loandesk.web.sessions import end_sessions_of

bp = Blueprint("admin", __name__, url_prefix="/admin")
PER_PAGE = 20


@bp.get("/users", endpoint="users")
@permission_required("users.read")
def users_list() -> Any:
    page = page_asked()
    result = users.list_users(extension.session(), page=page, per_page=PER_PAGE)
    template = "admin/_users_table.html" if htmx else "admin/users.html"
    return render_template(template, result=result)


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required("users.write")
def user_new() -> Any:
    form_errors = FormErrors()
    values: dict[str, Any] = {
        k: request.form.get(k, "") for k in ("email", "display_name", "locale", "org_unit_id")
    }
    values["roles"] = request.form.getlist("roles")
    if request.method == "POST":
        password = request.form.get("password") or None
        _may_assign(values["roles"], [])
        try:
            new = users.create_user(
                extension.session(),
                email=values["email"],
                display_name=values["display_name"],
                password=password,
                roles=values["roles"],
                locale=values["locale"] or None,
                org_unit_id=_uuid_or_none(values["org_unit_id"], "org_unit_id"),
            )
        except (ValidationFailed, Conflict) as problem:
            extension.session().rollback()
            form_errors.update(problem)
        else:
            extension.session().commit()
            if new.invite_token:
                base_url = extension.get().settings.base_url
                link = users.invitation_url(base_url, current().slug, new.invite_token)
                return render_template("admin/user_invited.html", user=new.user, link=link)
            flash(gettext("%(name)s can sign in now.", name=new.user.display_name), "success")
            return redirect(url_for("tenant.admin.users"))
    return render_template(
        "admin/user_form.html",
        errors=form_errors,
        values=values,
        user=None,
        role_options=_role_options(),
        unit_options=_unit_options(),
    ), (422 if form_errors else 200)


@bp.route("/users/<uuid:user_id>", methods=["GET", "POST"])
@permission_required("users.write")
def user_edit(user_id: uuid.UUID) -> Any:
    user = users.get_user(extension.session(), user_id)
    form_errors = FormErrors()
    values: dict[str, Any] = {
        "display_name": user.display_name,
        "locale": user.locale or "",
        "roles": [role.key for role in user.roles],
        "org_unit_id": str(user.org_unit_id or ""),
    }
    if request.method == "POST":
        values = {
            "display_name": request.form.get("display_name", ""),
            "locale": request.form.get("locale", ""),
            "roles": request.form.getlist("roles"),
            "org_unit_id": request.form.get("org_unit_id", ""),
        }
        _may_assign(values["roles"], [role.key for role in user.roles])
        try:
            users.update_user(
                extension.session(),
                user,
                acting_user_id=g.user.id,
                display_name=values["display_name"],
                roles=values["roles"],
                locale=values["locale"] or None,
                password=request.form.get("password") or None,
                org_unit_id=_uuid_or_none(values["org_unit_id"], "org_unit_id"),
            )
            if request.form.get("password"):
                end_sessions_of(extension.session(), user.id)  # a reset signs them out
        except ValidationFailed as problem:
            extension.session().rollback()
            form_errors.update(problem)
        else:
            extension.session().commit()
            flash(gettext("Saved."), "success")
            return redirect(url_for("tenant.admin.users"))
    return render_template(
        "admin/user_form.html",
        errors=form_errors,
        values=values,
        user=user,
        role_options=_role_options(),
        unit_options=_unit_options(),
    ), (422 if form_errors else 200)


def _role_options() -> list[tuple[str, str]]:
    locale = str(get_locale() or "zh")
    return [(role.key, role.name(locale)) for role in rbac.list_roles(extension.session())]


def _unit_options() -> list[tuple[str, str]]:
    """Every org unit, indented under its parent."""
    return [
        (str(unit.id), "\u3000" * depth + unit.name)
        for depth, unit in org.Tree.load(extension.session()).walk()
    ]


def _may_assign(new: list[str], current: list[str]) -> None:
    """Changing someone's roles needs roles.manage, beyond users.write."""
    if sorted(set(new)) != sorted(set(current)) and not g.user.can("roles.manage"):
        abort(403)


@bp.post("/users/<uuid:user_id>/invitation", endpoint="user_reinvite")
@permission_required("users.write")
def user_reinvite(user_id: uuid.UUID) -> Any:
    """A new invitation link for a user who lost theirs; the old one stops working."""
    user = users.get_user(extension.session(), user_id)
    token = users.new_invite(extension.session(), user)
    extension.session().commit()
    link = users.invitation_url(extension.get().settings.base_url, current().slug, token)
    return render_template("admin/user_invited.html", user=user, link=link)


@bp.post("/users/<uuid:user_id>/two-factor/reset", endpoint="user_two_factor_reset")
@permission_required("users.write")
def user_two_factor_reset(user_id: uuid.UUID) -> Any:
    """Take away a user's two-factor sign-in (lost phone and codes); their sessions end."""
    user = users.get_user(extension.session(), user_id)
    try:
        two_factor.reset(extension.session(), user, acting_user_id=g.user.id)
    except (Conflict, Forbidden) as problem:
        extension.session().rollback()
        flash(gettext(problem.message), "error")
    else:
        end_sessions_of(extension.session(), user.id)
        extension.session().commit()
        flash(
            gettext("Two-factor sign-in of %(name)s is reset.", name=user.display_name), "success"
        )
    return redirect(url_for("tenant.admin.user_edit", user_id=user.id))


@bp.post("/users/<uuid:user_id>/status")
@permission_required("users.write")
def user_status(user_id: uuid.UUID) -> Any:
    """Deactivate or re-activate; htmx swaps the row, a plain form post reloads the list."""
    user = users.get_user(extension.session(), user_id)
    status = request.form.get("status", "")
    users.update_user(extension.session(), user, acting_user_id=g.user.id, status=status)
    extension.session().commit()
    if htmx:
        return render_template("admin/_user_row.html", user=user)
    return redirect(url_for("tenant.admin.users"))


@bp.get("/api-clients", endpoint="api_clients")
@permission_required("api_clients.manage")
def api_clients_list() -> Any:
    return render_template(
        "admin/api_clients.html",
        clients=clients.list_clients(extension.session()),
        scopes=clients.SCOPES,
        staff=_staff_options(),
        errors=FormErrors(),
        values={"name": "", "scopes": [], "acts_as_id": str(g.user.id)},
        created=None,
    )


def _staff_options() -> list[tuple[str, str]]:
    """Whom a new client may act for: anyone or nobody for a tenant admin, only themselves
    for anyone else (``clients.create_client``)."""
    if not g.user.is_admin:
        return [(str(g.user.id), f"{g.user.display_name} <{g.user.email}>")]
    return [("", gettext("Nobody (no business records)"))] + [
        (str(u.id), f"{u.display_name} <{u.email}>")
        for u in users.active_staff(extension.session())
    ]


@bp.post("/api-clients")
@permission_required("api_clients.manage")
def api_client_create() -> Any:
    name, scopes = request.form.get("name", ""), request.form.getlist("scopes")
    acts_as = request.form.get("acts_as_id", "")
    values: dict[str, Any] = {"name": name, "scopes": scopes, "acts_as_id": acts_as}
    form_errors = FormErrors()
    created = None
    try:
        created = clients.create_client(
            extension.session(),
            tenant_id=current().id,
            name=name,
            scopes=scopes,
            created_by_id=g.user.id,
            acts_as_id=_uuid_or_none(acts_as, "acts_as_id"),
            maker=g.user,
        )
    except ValidationFailed as problem:
        extension.session().rollback()
        form_errors.update(problem)
    else:
        extension.session().commit()
        values = {"name": "", "scopes": [], "acts_as_id": str(g.user.id)}
    return render_template(
        "admin/api_clients.html",
        clients=clients.list_clients(extension.session()),
        scopes=clients.SCOPES,
        staff=_staff_options(),
        errors=form_errors,
        values=values,
        created=created,
    ), (422 if form_errors else 201)


@bp.post("/api-clients/<uuid:pk>/revoke")
@permission_required("api_clients.manage")
def api_client_revoke(pk: uuid.UUID) -> Any:
    client = clients.get_client(extension.session(), pk)
    clients.revoke_client(extension.session(), client)
    extension.session().commit()
    flash(gettext("The client %(name)s is revoked.", name=client.name), "success")
    return redirect(url_for("tenant.admin.api_clients"))


def _uuid_or_none(value: str, field: str) -> uuid.UUID | None:
    """A form's id value: blank is none, anything else must be an id (422 naming ``field``)."""
    if not value.strip():
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise ValidationFailed(
            N_("Some fields need attention."), errors={field: [N_("Choose from the list.")]}
        ) from None
