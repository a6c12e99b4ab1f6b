"""Administration of the tenant's plugins: enable, disable, settings."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from loandesk import extension, pii
from loandesk.errors import Conflict, Forbidden, ValidationFailed
from loandesk.plugins import forms, runtime, service
from loandesk.tenancy import current
from loandesk.web.auth_views import permission_required
from loandesk.web.forms import FormErrors

bp = Blueprint("admin_plugins", __name__, url_prefix="/admin/plugins")


def _locale() -> str:
    return str(get_locale() or "zh")


@bp.get("", endpoint="plugins")
@permission_required("plugins.manage")
def plugin_list() -> Any:
    host = runtime.host()
    states = service.states(extension.session(), host)
    return render_template("admin/plugins.html", states=states, locale=_locale(), host=host)


@bp.post("/<name>/enabled")
@permission_required("plugins.manage")
def plugin_toggle(name: str) -> Any:
    enable = request.form.get("enabled") == "on"
    try:
        service.set_enabled(
            extension.session(),
            runtime.host(),
            tenant_id=current().id,
            name=name,
            enabled=enable,
            acting_user_id=g.user.id,
        )
    except (Conflict, Forbidden) as problem:
        extension.session().rollback()
        flash(gettext(problem.message, **problem.params), "error")
    else:
        extension.session().commit()
        title = runtime.host().infos[name].title(_locale())
        message = (
            gettext("%(plugin)s is enabled.", plugin=title)
            if enable
            else gettext("%(plugin)s is disabled.", plugin=title)
        )
        flash(message, "success")
    return redirect(url_for("tenant.admin_plugins.plugins"))


@bp.route("/<name>/settings", methods=["GET", "POST"])
@permission_required("plugins.manage")
def plugin_settings(name: str) -> Any:
    host = runtime.host()
    state = service.state(extension.session(), host, name)
    schema = state.info.settings_schema
    if schema is None:
        return redirect(url_for("tenant.admin_plugins.plugins"))
    form_errors = FormErrors()
    values = dict(state.settings)
    if request.method == "POST":
        raw = forms.parse(schema, request.form.to_dict())
        try:
            service.update_settings(
                extension.session(),
                host,
                keyring=pii.for_current_tenant(),
                tenant_id=current().id,
                name=name,
                values=raw,
                acting_user_id=g.user.id,
            )
        except ValidationFailed as problem:
            extension.session().rollback()
            form_errors.update(problem)
            values.update({k: v for k, v in raw.items() if k not in state.info.secret_fields()})
        else:
            extension.session().commit()
            flash(gettext("Settings saved."), "success")
            return redirect(url_for("tenant.admin_plugins.plugins"))
    fields = forms.describe(schema, values, state.secrets_set, _locale())
    return render_template(
        "admin/plugin_settings.html",
        state=state,
        fields=fields,
        errors=form_errors,
        locale=_locale(),
    ), (422 if form_errors else 200)
