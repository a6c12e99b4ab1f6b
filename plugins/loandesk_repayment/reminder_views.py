"""The reminders page (还款提醒): every product of the catalogue with its T-N days SMS and
due-day notice, edited, set to the defaults in one click, or removed. Thin over
``reminders``; the rules it saves show in the automations designer too."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from loandesk import sdk
from loandesk_repayment import reminders
from loandesk_repayment.views import bp

PERMISSION = "repayment.reminders"
FIELDS = ("before_on", "before_days", "before_zh", "before_en", "due_day_on", "due_day_zh",
          "due_day_en")  # fmt: skip


def _values(row: reminders.ProductReminders) -> dict[str, Any]:
    """A product's form values from its settings (the defaults for a product with none)."""
    before, due_day = row.settings["before"], row.settings["due_day"]
    return {
        "before_on": before.on,
        "before_days": str(before.days),
        "due_day_on": due_day.on,
        **{f"before_{lang}": before.texts.get(lang, "") for lang in reminders.LANGUAGES},
        **{f"due_day_{lang}": due_day.texts.get(lang, "") for lang in reminders.LANGUAGES},
    }


def _page(errors: sdk.FormErrors | None = None, failed: uuid.UUID | None = None) -> Any:
    """The page; the form of product ``failed`` comes back as submitted, with ``errors``."""
    rows = reminders.catalogue(sdk.session())
    typed: dict[str, Any] = {key: request.form.get(key, "") for key in FIELDS}
    typed.update({key: request.form.get(key) == "on" for key in ("before_on", "due_day_on")})
    values = {
        row.product.product_id: typed if row.product.product_id == failed else _values(row)
        for row in rows
    }
    return render_template(
        "repayment/reminders.html",
        rows=rows,
        values=values,
        errors=errors or sdk.FormErrors(),
        no_errors=sdk.FormErrors(),
        failed=failed,
        max_days=reminders.MAX_DAYS,
    ), (422 if errors else 200)


def _act(product_id: uuid.UUID, action: Callable[[Any], Any], done: str) -> Any:
    session = sdk.session()
    try:
        reminders.product(session, product_id)
    except sdk.NotFound:
        abort(404)
    try:
        action(session)
    except (sdk.ValidationFailed, sdk.Conflict) as problem:
        session.rollback()
        errors = sdk.FormErrors()
        errors.update(problem)
        return _page(errors, product_id)
    session.commit()
    flash(done, "success")
    return redirect(url_for("tenant.repayment.reminders") + f"#product-{product_id}")


@bp.get("/reminders", endpoint="reminders")
@sdk.permission_required(PERMISSION)
def reminder_page() -> Any:
    return _page()


@bp.post("/reminders/<uuid:product_id>", endpoint="reminders_save")
@sdk.permission_required(PERMISSION)
def reminders_save(product_id: uuid.UUID) -> Any:
    def save(session: Any) -> None:
        settings = reminders.parse(request.form)
        reminders.save(session, product_id, settings, user_id=g.user.id)

    return _act(product_id, save, gettext("Reminders saved."))


@bp.post("/reminders/<uuid:product_id>/defaults", endpoint="reminders_defaults")
@sdk.permission_required(PERMISSION)
def reminders_defaults(product_id: uuid.UUID) -> Any:
    return _act(
        product_id,
        lambda session: reminders.use_defaults(session, product_id, user_id=g.user.id),
        gettext("The default reminders are on."),
    )


@bp.post("/reminders/<uuid:product_id>/remove", endpoint="reminders_remove")
@sdk.permission_required(PERMISSION)
def reminders_remove(product_id: uuid.UUID) -> Any:
    return _act(
        product_id,
        lambda session: reminders.remove(session, product_id),
        gettext("Reminders removed."),
    )
