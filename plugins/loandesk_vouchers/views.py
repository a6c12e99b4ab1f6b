"""The plugin's pages: vouchers by day (generate, export, push, retry a failed push), one
voucher's lines, the chart-of-accounts mapping (科目映射) and the daily reconciliation (对账).
Thin over the same services as the API."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext

from loandesk import sdk
from loandesk_vouchers import exports, mappings, push, reconciliation, service
from loandesk_vouchers.kinds import ACCOUNTS, ALL_KINDS, AUX_KINDS, KINDS

bp = Blueprint("vouchers", __name__, url_prefix="/vouchers", template_folder="templates")
PER_PAGE = 20
LIST = "vouchers-list"  # the list htmx swaps for the filter and the pages
STATE_LABELS = {
    "draft": sdk.N_("Draft"),
    "exported": sdk.N_("Exported"),
    "pushed": sdk.N_("Pushed"),
    "push_failed": sdk.N_("Push failed"),
}
STATE_BADGES = {
    "draft": "badge-muted",
    "exported": "badge-warning",
    "pushed": "badge-success",
    "push_failed": "badge-danger",
}


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int


def _day(raw: str | None, default: dt.date | None = None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError:
        return default


def _yesterday() -> dt.date:
    return service.local_today() - dt.timedelta(days=1)


def _common() -> dict[str, Any]:
    return {
        "kinds": KINDS,
        "accounts": ACCOUNTS,
        "aux_kinds": AUX_KINDS,
        "states": STATE_LABELS,
        "badges": STATE_BADGES,
    }


@bp.get("/", endpoint="index")
@sdk.permission_required("vouchers.view")
def index() -> Any:
    session = sdk.session()
    day = _day(request.args.get("day"), _yesterday())
    state = request.args.get("state") if request.args.get("state") in STATE_LABELS else None
    page = sdk.page_asked()
    found, total = service.vouchers_of(
        session, day=day, state=state, offset=(page - 1) * PER_PAGE, limit=PER_PAGE
    )
    partial = request.headers.get("HX-Request") and request.headers.get("HX-Target") == LIST
    return render_template(
        "vouchers/_list.html" if partial else "vouchers/index.html",
        day=day,
        state=state or "",
        result=Page(found, page, PER_PAGE, total),
        errors=sdk.FormErrors(),
        **_common(),
    )


def _back(day: dt.date | None) -> Any:
    return redirect(url_for("tenant.vouchers.index", day=day.isoformat() if day else None))


@bp.post("/generate", endpoint="generate")
@sdk.permission_required("vouchers.manage")
def generate() -> Any:
    session = sdk.session()
    day = _day(request.form.get("day"))
    if day is None:
        flash(gettext("Enter a date."), "error")
        return _back(None)
    try:
        done = service.generate(session, day)
    except sdk.ValidationFailed as problem:
        session.rollback()
        missing = ", ".join(problem.errors.get("mapping", []) or problem.errors.get("day", []))
        flash(f"{gettext(problem.message)} {missing}".strip(), "error")
        return _back(day)
    session.commit()
    flash(
        gettext(
            "Vouchers for %(day)s: %(created)d made, %(rebuilt)d rebuilt, %(unchanged)d "
            "unchanged, %(kept)d already sent.",
            day=day,
            created=done.created,
            rebuilt=done.rebuilt,
            unchanged=done.unchanged,
            kept=done.kept,
        ),
        "success",
    )
    return _back(day)


@bp.post("/export", endpoint="export")
@sdk.permission_required("vouchers.manage")
def export() -> Any:
    session = sdk.session()
    day = _day(request.form.get("day"))
    found, _ = service.vouchers_of(session, day=day) if day else ([], 0)
    try:
        content, name, mimetype = exports.export(session, found, request.form.get("format", ""))
    except (sdk.ValidationFailed, sdk.NotFound) as problem:
        session.rollback()
        flash(gettext(problem.message), "error")
        return _back(day)
    session.commit()
    return send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=name)


@bp.post("/push", endpoint="push")
@sdk.permission_required("vouchers.manage")
def push_day() -> Any:
    day = _day(request.form.get("day"))
    found, _ = service.vouchers_of(sdk.session(), day=day) if day else ([], 0)
    if push.queue(found) is None:
        flash(gettext("Nothing to push for that day."), "warning")
    else:
        flash(gettext("The push to Kingdee is queued."), "success")
    return _back(day)


@bp.get("/<uuid:voucher_id>", endpoint="detail")
@sdk.permission_required("vouchers.view")
def detail(voucher_id: uuid.UUID) -> Any:
    session = sdk.session()
    voucher = service.get(session, voucher_id)
    return render_template(
        "vouchers/detail.html",
        voucher=voucher,
        lines=service.lines_of(session, voucher),
        **_common(),
    )


@bp.post("/<uuid:voucher_id>/retry", endpoint="retry")
@sdk.permission_required("vouchers.manage")
def retry(voucher_id: uuid.UUID) -> Any:
    voucher = service.get(sdk.session(), voucher_id)
    if push.queue([voucher]) is None:
        flash(gettext("This voucher is in Kingdee already."), "warning")
    else:
        flash(gettext("The push to Kingdee is queued."), "success")
    return redirect(url_for("tenant.vouchers.detail", voucher_id=voucher.id))


def _mappings_page(
    errors: sdk.FormErrors | None = None, values: dict[str, Any] | None = None
) -> Any:
    kind_options = [(ALL_KINDS, gettext("All kinds"))] + [
        (key, gettext(label)) for key, (_, label) in KINDS.items()
    ]
    return render_template(
        "vouchers/mappings.html",
        mappings=mappings.all_mappings(sdk.session()),
        errors=errors or sdk.FormErrors(),
        values=values or {},
        kind_options=kind_options,
        account_options=[(key, f"{key} {zh}") for key, (zh, _) in ACCOUNTS.items()],
        aux_options=[(key, gettext(label)) for key, label in AUX_KINDS.items()],
        **_common(),
    ), (422 if errors else 200)


@bp.get("/mappings", endpoint="mappings")
@sdk.permission_required("vouchers.mappings")
def mappings_page() -> Any:
    return _mappings_page()


@bp.post("/mappings", endpoint="mapping_save")
@sdk.permission_required("vouchers.mappings")
def mapping_save() -> Any:
    session = sdk.session()
    values = {key: request.form.get(key, "") for key in mappings.FIELDS}
    raw_id = request.form.get("mapping_id", "").strip()
    errors = sdk.FormErrors()
    try:
        mappings.save(session, values, uuid.UUID(raw_id) if raw_id else None)
    except (sdk.ValidationFailed, sdk.Conflict) as problem:
        session.rollback()
        errors.update(problem)
        return _mappings_page(errors, values)
    except ValueError:
        session.rollback()
        errors.form.append(gettext("No such account mapping."))
        return _mappings_page(errors, values)
    session.commit()
    flash(gettext("Mapping saved."), "success")
    return redirect(url_for("tenant.vouchers.mappings"))


@bp.post("/mappings/<uuid:mapping_id>/delete", endpoint="mapping_delete")
@sdk.permission_required("vouchers.mappings")
def mapping_delete(mapping_id: uuid.UUID) -> Any:
    session = sdk.session()
    mappings.remove(session, mapping_id)
    session.commit()
    flash(gettext("Mapping removed."), "success")
    return redirect(url_for("tenant.vouchers.mappings"))


@bp.get("/reconciliation", endpoint="reconciliation")
@sdk.permission_required("vouchers.view")
def reconciliation_page() -> Any:
    day = _day(request.args.get("day"), _yesterday())
    assert day is not None
    rows = reconciliation.reconcile(sdk.session(), day)
    return render_template(
        "vouchers/reconciliation.html",
        day=day,
        rows=rows,
        matches=all(r.matches for r in rows),
        **_common(),
    )
