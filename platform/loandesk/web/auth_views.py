"""Signing in and out of a tenant, and accepting an invitation."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import format_datetime, gettext

from loandesk import audit, extension
from loandesk.audit import web as audit_web
from loandesk.auth import users
from loandesk.auth.models import User
from loandesk.errors import NotFound, ValidationFailed
from loandesk.security import web as security_web
from loandesk.tenancy import current
from loandesk.web.forms import FormErrors
from loandesk.web.signin import safe_next as _safe_next
from loandesk.web.signin import start_session

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])


def load_user() -> Any:
    """Before every tenant page: the signed-in user, if the session belongs to this tenant.

    A suspended tenant's pages all answer with the suspension notice, sessions or not.
    """
    g.user = None
    if not current().is_active:
        return render_template("auth/suspended.html"), 403
    user_id, tenant_id = session.get("user_id"), session.get("tenant_id")
    if not user_id or tenant_id != str(current().id):
        return None
    user = extension.session().get(User, (current().id, uuid.UUID(user_id)))
    if user is not None and user.is_active:
        g.user = user
        audit_web.identify("user", str(user.id), user.email)
    else:
        session.pop("user_id", None)
    return None


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            return redirect(url_for("tenant.auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return cast(F, wrapped)


def admin_required(view: F) -> F:
    @functools.wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not g.user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def permission_required(permission: str) -> Callable[[F], F]:
    """A signed-in user whose roles grant ``permission`` (the tenant admin holds them all)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not g.user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if g.get("user") is not None and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    form_errors = FormErrors()
    email = request.form.get("email", "").strip()
    status = 200
    if request.method == "POST":
        security_web.check_sign_in(email)  # 429 when this address or account tries too often
        settings = extension.get().settings
        db_session = extension.session()
        try:
            user = users.authenticate(
                db_session,
                email,
                request.form.get("password", ""),
                max_failures=settings.login_max_failures,
                lock_for=settings.login_lock,
            )
        except users.SignInRefused as refused:
            db_session.commit()  # keep the failure count
            params = {}
            if refused.locked_until is not None:
                params["time"] = format_datetime(refused.locked_until, "short")
            form_errors.form.append(gettext(refused.message, **params))
            status = 423 if refused.locked_until is not None else 401
        else:
            db_session.commit()
            start_session(user)
            return redirect(_safe_next(request.form.get("next")))
    return render_template(
        "auth/login.html", errors=form_errors, email=email, next=request.values.get("next", "")
    ), status


@bp.post("/logout")
def logout() -> Any:
    if g.get("user") is not None:
        audit.record(extension.session(), "user.sign_out", "user", g.user.id)
        extension.session().commit()
    locale = session.get("locale")
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]
    if locale:
        session["locale"] = locale
    flash(gettext("You have signed out."), "info")
    return redirect(url_for("tenant.auth.login"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invite(token: str) -> Any:
    db_session = extension.session()
    try:
        user = users.find_by_invite(db_session, token)
    except NotFound:
        return render_template("auth/invite_invalid.html"), 404
    form_errors = FormErrors()
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("password_confirm", ""):
            form_errors.add("password_confirm", gettext("The two passwords differ."))
        else:
            try:
                users.accept_invite(db_session, token, password)
            except ValidationFailed as invalid:
                form_errors.update(invalid)
            else:
                db_session.commit()
                flash(gettext("Your password is set. Sign in to start."), "success")
                return redirect(url_for("tenant.auth.login"))
    return render_template("auth/invite.html", user=user, errors=form_errors), (
        422 if form_errors else 200
    )
