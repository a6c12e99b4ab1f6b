"""My account: what every signed-in staff member may change about themselves."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext

from loandesk import extension
from loandesk.auth import users
from loandesk.errors import ValidationFailed
from loandesk.i18n import N_
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
    return render_template("account.html", errors=errors), (422 if errors else 200)
