"""Administration → Security settings (安全设置): require two-factor sign-in, session timeouts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from loandesk import extension
from loandesk.errors import ValidationFailed
from loandesk.security.tenant_settings import security_settings, update_security_settings
from loandesk.tenancy import current
from loandesk.tenancy.models import Tenant
from loandesk.web.auth_views import permission_required
from loandesk.web.forms import FormErrors

bp = Blueprint("admin_security", __name__, url_prefix="/admin/security")


def _tenant() -> Tenant:
    tenant = extension.session().get(Tenant, current().id)
    assert tenant is not None  # the request's tenant exists
    return tenant


@bp.route("", methods=["GET", "POST"], endpoint="settings")
@permission_required("security.manage")
def settings_page() -> Any:
    tenant, errors = _tenant(), FormErrors()
    saved = security_settings(tenant)
    values: dict[str, Any] = {
        "require_two_factor": saved.require_two_factor,
        "session_idle_minutes": str(saved.session_idle_minutes),
        "session_absolute_hours": str(saved.session_absolute_hours),
    }
    if request.method == "POST":
        values = {
            "require_two_factor": request.form.get("require_two_factor") == "on",
            "session_idle_minutes": request.form.get("session_idle_minutes", "").strip(),
            "session_absolute_hours": request.form.get("session_absolute_hours", "").strip(),
        }
        numbers = {}
        for field in ("session_idle_minutes", "session_absolute_hours"):
            text = values[field]
            if text.isascii() and text.isdigit() and len(text) <= 6:
                numbers[field] = int(text)
            else:
                errors.add(field, gettext("Enter a whole number."))
        if not errors:
            try:
                update_security_settings(
                    extension.session(),
                    tenant,
                    require_two_factor=values["require_two_factor"],
                    acting_user=g.user,
                    **numbers,
                )
            except ValidationFailed as problem:
                extension.session().rollback()
                errors.update(problem)
            else:
                extension.session().commit()
                flash(gettext("Saved."), "success")
                return redirect(url_for("tenant.admin_security.settings"))
    return render_template("admin/security.html", values=values, errors=errors), (
        422 if errors else 200
    )
