"""Signing in and out of a tenant (password, then a two-factor code where the user has one or
the firm requires it), and accepting an invitation."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_datetime, gettext

from loandesk import audit, extension
from loandesk.audit import web as audit_web
from loandesk.auth import two_factor, users
from loandesk.auth.models import User
from loandesk.errors import Conflict, NotFound, ValidationFailed
from loandesk.pii import keys
from loandesk.security import web as security_web
from loandesk.tenancy import current
from loandesk.web import sign_in
from loandesk.web.forms import FormErrors
from loandesk.web.htmx import htmx

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
        return _enrolment_first(user)
    session.pop("user_id", None)
    return None


# Where a signed-in user who must still set up two-factor sign-in may go.
ENROLMENT_ENDPOINTS = frozenset({"tenant.account.two_factor", "tenant.auth.logout"})


def _enrolment_first(user: User) -> Any:
    """The firm requires two-factor sign-in (turned on while this user was signed in, or an
    admin reset theirs): every page but the set-up sends them there first."""
    if not current().require_two_factor or user.two_factor_enabled:
        return None
    if request.endpoint in ENROLMENT_ENDPOINTS:
        return None
    flash(gettext("Your firm requires two-factor sign-in. Set it up to continue."), "warning")
    target = url_for("tenant.account.two_factor")
    if htmx:  # the whole page goes there, not a fragment
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target)


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
        return redirect(sign_in.safe_next(request.args.get("next")))
    form_errors = FormErrors()
    email = request.form.get("email", "").strip()
    status = 200
    if request.method == "POST":
        security_web.check_sign_in(email)  # 429 when this address or account tries too often
        settings = extension.get().settings
        db_session = extension.session()
        try:
            user = users.check_password(
                db_session,
                email,
                request.form.get("password", ""),
                max_failures=settings.login_max_failures,
                lock_for=settings.login_lock,
                now=sign_in.now(),
            )
        except users.SignInRefused as refused:
            db_session.commit()  # keep the failure count
            status = _refusal(form_errors, refused)
        else:
            db_session.commit()
            next_url = sign_in.safe_next(request.form.get("next"))
            if user.two_factor_enabled or current().require_two_factor:
                must_enrol = not user.two_factor_enabled
                sign_in.begin_pending(user, must_enrol=must_enrol, next_url=next_url)
                return redirect(
                    url_for("tenant.auth.two_factor_setup" if must_enrol else "tenant.auth.code")
                )
            sign_in.start_session(user, method="password")
            return redirect(next_url)
    return render_template(
        "auth/login.html", errors=form_errors, email=email, next=request.values.get("next", "")
    ), status


def _refusal(form_errors: FormErrors, refused: users.SignInRefused) -> int:
    params = {}
    if refused.locked_until is not None:
        params["time"] = format_datetime(refused.locked_until, "short")
    form_errors.form.append(gettext(refused.message, **params))
    return 423 if refused.locked_until is not None else 401


def _pending_or_restart() -> sign_in.Pending | Any:
    """The sign-in waiting for a code, or a redirect to the sign-in page (saying why)."""
    started = sign_in.had_pending()
    found = sign_in.pending()
    if found is not None:
        return found
    if started:
        flash(gettext("Signing in took too long. Please sign in again."), "warning")
    return redirect(url_for("tenant.auth.login"))


@bp.route("/login/code", methods=["GET", "POST"], endpoint="code")
def login_code() -> Any:
    """The second step: a code from the authenticator app, or a recovery code."""
    found = _pending_or_restart()
    if not isinstance(found, sign_in.Pending):
        return found
    if not found.must_enrol and not found.user.two_factor_enabled:
        # reset by an admin since the password step: set it up, or sign in again without it
        if not current().require_two_factor:
            sign_in.drop_pending()
            return redirect(url_for("tenant.auth.login"))
        sign_in.begin_pending(found.user, must_enrol=True, next_url=found.next_url)
        found = sign_in.Pending(found.user, True, found.next_url)
    if found.must_enrol:
        return redirect(url_for("tenant.auth.two_factor_setup"))
    form_errors, status = FormErrors(), 200
    if request.method == "POST":
        user = found.user
        security_web.check_sign_in(user.email)
        settings = extension.get().settings
        db_session = extension.session()
        try:
            method = two_factor.sign_in_with_code(
                db_session,
                user,
                request.form.get("code", ""),
                keyring=keys.for_current_tenant(),
                max_failures=settings.login_max_failures,
                lock_for=settings.login_lock,
                now=sign_in.now(),
            )
        except users.SignInRefused as refused:  # locked: start again once the lock ends
            db_session.commit()
            sign_in.drop_pending()
            status = _refusal(form_errors, refused)
            return render_template(
                "auth/login.html", errors=form_errors, email=user.email, next=found.next_url
            ), status
        except two_factor.CodeRefused as refused:
            db_session.commit()  # keep the failure count
            form_errors.update(refused)
            status = 422 if refused.reason == "missing" else 401
        else:
            sign_in.start_session(user, method=f"password+{method}")
            if method == "recovery_code":
                left = two_factor.recovery_codes_left(db_session, user)
                flash(
                    gettext(
                        "You signed in with a recovery code; %(num)d left. Make new ones on "
                        "your account page if you are running out.",
                        num=left,
                    ),
                    "warning",
                )
            return redirect(found.next_url or url_for("tenant.home.index"))
    return render_template("auth/login_code.html", errors=form_errors), status


@bp.route("/login/two-factor-setup", methods=["GET", "POST"], endpoint="two_factor_setup")
def login_two_factor_setup() -> Any:
    """The firm requires two-factor sign-in and this user has none: they set it up now,
    before any other page; the confirming code completes the sign-in."""
    found = _pending_or_restart()
    if not isinstance(found, sign_in.Pending):
        return found
    user = found.user
    if user.two_factor_enabled:  # set up meanwhile (another tab): ask for a code instead
        sign_in.begin_pending(user, must_enrol=False, next_url=found.next_url)
        return redirect(url_for("tenant.auth.code"))
    db_session, keyring = extension.session(), keys.for_current_tenant()
    form_errors = FormErrors()
    if request.method == "POST":
        security_web.check_sign_in(user.email)
        try:
            codes = two_factor.confirm_enrolment(
                db_session, user, request.form.get("code", ""), keyring=keyring, now=sign_in.now()
            )
        except (ValidationFailed, Conflict) as problem:
            db_session.rollback()
            form_errors.update(problem)
        else:
            db_session.commit()
            sign_in.start_session(user, method="password+totp_enrolment")
            return render_template(
                "account/recovery_codes.html", codes=codes, next_url=found.next_url, enrolled=True
            )
    enrolment = two_factor.pending_enrolment(
        user, keyring=keyring, issuer=current().name
    ) or two_factor.begin_enrolment(db_session, user, keyring=keyring, issuer=current().name)
    db_session.commit()
    return render_template(
        "auth/two_factor_setup.html", enrolment=enrolment, errors=form_errors, user=user
    ), (422 if form_errors else 200)


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
