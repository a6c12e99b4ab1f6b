"""Pages outside any tenant: the landing page, sign-up of a new firm, the language switch.

In single-tenant mode there is neither: ``/`` is the tenant's home page (``public.index`` is
only built, never matched) and ``/signup`` answers 404."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext

from loandesk import extension
from loandesk.errors import Conflict, ValidationFailed
from loandesk.i18n import normalise_locale
from loandesk.security import web as security_web
from loandesk.tenancy import service
from loandesk.web.forms import FormErrors

bp = Blueprint("public", __name__)

SIGNUP_FIELDS = ("name", "slug", "admin_name", "admin_email")


def index() -> Any:
    return render_template("public/index.html")


def signup() -> Any:
    form_errors = FormErrors()
    values = {f: request.form.get(f, "") for f in SIGNUP_FIELDS}
    if request.method == "POST":
        security_web.check_sign_up()
        db_session = extension.session()
        try:
            result = service.sign_up(
                db_session,
                name=values["name"],
                slug=values["slug"].strip().lower(),
                admin_email=values["admin_email"],
                admin_password=request.form.get("admin_password", ""),
                admin_name=values["admin_name"].strip() or None,
            )
        except (ValidationFailed, Conflict) as problem:
            db_session.rollback()
            form_errors.update(problem)
            status = 409 if isinstance(problem, Conflict) else 422
            return render_template("public/signup.html", errors=form_errors, values=values), status
        db_session.commit()
        flash(gettext("Your workspace is ready. Sign in with the admin account."), "success")
        return redirect(url_for("tenant.auth.login", tenant_slug=result.tenant.slug))
    return render_template("public/signup.html", errors=form_errors, values=values)


def no_signup() -> Any:
    abort(404)


@bp.record
def _add_routes(state: BlueprintSetupState) -> None:
    single = bool(state.app.extensions["loandesk"].settings.single_tenant)
    # One firm: "/" is its home page (which sends strangers to its sign-in page), and links to
    # public.index lead there; nobody signs up another firm.
    state.add_url_rule("/", "index", index, methods=["GET"], build_only=single)
    sign_up_view = no_signup if single else signup
    state.add_url_rule("/signup", "signup", sign_up_view, methods=["GET", "POST"])


@bp.post("/lang")
def switch_language() -> Any:
    locale = normalise_locale(request.form.get("locale"))
    if locale is not None:
        session["locale"] = locale
    target = request.form.get("next") or request.referrer or url_for("public.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        target = url_for("public.index")  # never redirect off-site
    return redirect(target)
