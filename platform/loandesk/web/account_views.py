"""My account: what every signed-in staff member may change about themselves: language,
password, and their two-factor sign-in (set up, new recovery codes, turn off)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext

from loandesk import extension
from loandesk.auth import two_factor, users
from loandesk.errors import Conflict, ValidationFailed
from loandesk.i18n import N_
from loandesk.pii import keys
from loandesk.security import web as security_web
from loandesk.tenancy import current
from loandesk.web import sign_in
from loandesk.web.auth_views import login_required
from loandesk.web.forms import FormErrors
from loandesk.web.sessions import end_sessions_of

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("", methods=["GET", "POST"], endpoint="account")
@login_required
def account() -> Any:
    errors = FormErrors()
    if request.method == "POST":
        db_session = extension.session()
        try:
            if request.form.get("action") == "password":
                new = request.form.get("new_password", "")
                if new != request.form.get("new_password_confirm", ""):
                    raise ValidationFailed(
                        N_("Some fields need attention."),
                        errors={"new_password_confirm": [N_("The two passwords differ.")]},
                    )
                users.change_own_password(
                    db_session, g.user, request.form.get("current_password", ""), new
                )
                # signed out everywhere else: whoever knew the old password is out too
                end_sessions_of(db_session, g.user.id, keep_sid=getattr(session, "sid", None))
                message = gettext("Your password is changed.")
            elif request.form.get("action") == "notifications":
                from loandesk.notifications import service as notifications

                notifications.set_email(db_session, g.user.id, request.form.get("email") == "on")
                message = gettext("Saved.")
            else:
                locale = request.form.get("locale") or None
                users.update_user(db_session, g.user, acting_user_id=g.user.id, locale=locale)
                session.pop("locale", None)
                if locale:
                    session["locale"] = locale
                message = gettext("Saved.")
        except ValidationFailed as problem:
            db_session.commit()  # keep the audit of a wrong current password
            errors.update(problem)
        else:
            db_session.commit()
            flash(message, "success")
            return redirect(url_for("tenant.account.account"))
    return _account_page(errors=errors)


def _account_page(**errors: FormErrors) -> Any:
    """The account page; ``errors`` of one of its forms (``errors``, ``disable_errors``,
    ``regenerate_errors``) makes it a 422."""
    failed = any(errors.values())
    forms = {
        k: errors.get(k, FormErrors()) for k in ("errors", "disable_errors", "regenerate_errors")
    }
    codes_left = (
        two_factor.recovery_codes_left(extension.session(), g.user)
        if g.user.two_factor_enabled
        else 0
    )
    from loandesk.notifications import service as notifications

    wants_email = notifications.wants_email(extension.session(), g.user.id)
    return render_template(
        "account.html", codes_left=codes_left, wants_email=wants_email, **forms
    ), (422 if failed else 200)


# --- two-factor sign-in ----------------------------------------------------------------------


@bp.route("/two-factor", methods=["GET", "POST"], endpoint="two_factor")
@login_required
def two_factor_setup() -> Any:
    """Set up two-factor sign-in: scan the QR code (or type the secret), confirm with a code,
    see the recovery codes once. Opening the page makes the secret (kept encrypted, not in use
    until confirmed; a reload shows the same one), so that the QR code is there at once."""
    user, db_session = g.user, extension.session()
    if user.two_factor_enabled:
        return redirect(url_for("tenant.account.account"))
    keyring, errors = keys.for_current_tenant(), FormErrors()
    if request.method == "POST":
        security_web.check_sign_in(user.email)
        try:
            codes = two_factor.confirm_enrolment(
                db_session, user, request.form.get("code", ""), keyring=keyring, now=sign_in.now()
            )
        except (ValidationFailed, Conflict) as problem:
            db_session.rollback()
            errors.update(problem)
        else:
            db_session.commit()
            return render_template("account/recovery_codes.html", codes=codes, enrolled=True)
    enrolment = two_factor.pending_enrolment(
        user, keyring=keyring, issuer=current().name
    ) or two_factor.begin_enrolment(db_session, user, keyring=keyring, issuer=current().name)
    db_session.commit()
    return render_template("account/two_factor.html", enrolment=enrolment, errors=errors), (
        422 if errors else 200
    )


@bp.post("/two-factor/recovery-codes", endpoint="recovery_codes")
@login_required
def regenerate_recovery_codes() -> Any:
    """New recovery codes (the old ones stop working), for whoever gives a current code."""
    security_web.check_sign_in(g.user.email)
    db_session, errors = extension.session(), FormErrors()
    try:
        codes = two_factor.regenerate_recovery_codes(
            db_session,
            g.user,
            request.form.get("code", ""),
            keyring=keys.for_current_tenant(),
            now=sign_in.now(),
        )
    except (ValidationFailed, Conflict) as problem:
        db_session.commit()  # keep the audit of a used-up recovery code
        errors.update(problem)
        return _account_page(regenerate_errors=errors)
    db_session.commit()
    return render_template("account/recovery_codes.html", codes=codes, enrolled=False)


@bp.post("/two-factor/disable", endpoint="two_factor_disable")
@login_required
def disable_two_factor() -> Any:
    """Turn two-factor sign-in off, with the password and a current code. Where the firm
    requires it, the user is sent to set it up again (e.g. on a new phone)."""
    security_web.check_sign_in(g.user.email)
    db_session, errors = extension.session(), FormErrors()
    try:
        two_factor.disable(
            db_session,
            g.user,
            password=request.form.get("password", ""),
            code=request.form.get("code", ""),
            keyring=keys.for_current_tenant(),
            now=sign_in.now(),
        )
    except (ValidationFailed, Conflict) as problem:
        db_session.commit()  # keep the audit of the failed attempt
        errors.update(problem)
        return _account_page(disable_errors=errors)
    db_session.commit()
    flash(gettext("Two-factor sign-in is off."), "success")
    return redirect(url_for("tenant.account.account"))
