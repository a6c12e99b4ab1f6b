"""Early-warning pages: the watch list (预警名单) filtered by level, product and credit
officer, in the viewer's data scope (the table alone for htmx); and the model page where a
risk manager reads the active version's evaluation (AUC, KS, coefficients), the history of
versions, and retrains."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from loandesk import sdk
from loandesk_warning import jobs, training, watchlist
from loandesk_warning import settings as warning_settings
from loandesk_warning.record_type import LEVELS

bp = Blueprint("warning", __name__, url_prefix="/warning", template_folder="templates")
LIST_TARGET = "watch-list"
PER_PAGE = 20


def _zh() -> bool:
    return str(get_locale() or "zh").startswith("zh")


def _owner(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


@bp.get("/", endpoint="index")
@sdk.permission_required("warning.view")
def watch_list() -> Any:
    session = sdk.session()
    access = sdk.record_access("warning")
    level = request.args.get("level") or None
    level = level if level in {key for key, _, _ in LEVELS} else None
    product = request.args.get("product") or None
    owner_id = _owner(request.args.get("owner_id"))
    page = sdk.page_asked()
    entries, total = watchlist.list_entries(
        session, access, level=level, product=product, owner_id=owner_id,
        page=page, per_page=PER_PAGE,
    )  # fmt: skip
    names = sdk.display_names(session, [e.owner_id for e in entries])
    filters = {k: v for k, v in (("level", level), ("product", product)) if v}
    if owner_id:
        filters["owner_id"] = str(owner_id)
    context = {
        "result": {"items": entries, "page": page, "per_page": PER_PAGE, "total": total},
        "filters": filters,
        "levels": [(key, zh if _zh() else en) for key, zh, en in LEVELS],
        "products": watchlist.products(session, access),
        "owners": sdk.active_staff(session),
        "names": names,
        "zh": _zh(),
        "target": LIST_TARGET,
        "model": training.active_model(session),
    }
    session.commit()
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == LIST_TARGET:
        return render_template("warning/_table.html", **context)
    return render_template("warning/index.html", **context)


def _model_page(error: str | None = None, code: int = 200) -> Any:
    session = sdk.session()
    page = sdk.page_asked()
    versions, total = watchlist.versions(session, page=page, per_page=PER_PAGE)
    active = training.active_model(session)
    context = {
        "active": active,
        "features": watchlist.coefficients(active) if active else [],
        "result": {"items": versions, "page": page, "per_page": PER_PAGE, "total": total},
        "names": sdk.display_names(session, [v.trained_by_id for v in versions if v.trained_by_id]),
        "error": error,
        "zh": _zh(),
    }
    return render_template("warning/model.html", **context), code


@bp.get("/model", endpoint="model")
@sdk.permission_required("warning.view")
def model_page() -> Any:
    return _model_page()


@bp.post("/model/retrain", endpoint="retrain")
@sdk.permission_required("warning.manage")
def retrain() -> Any:
    session = sdk.session()
    try:
        model = training.train(
            session, as_of=jobs.local_today(), user_id=g.user.id,
            settings=warning_settings.current(),
        )  # fmt: skip
    except sdk.Conflict as problem:
        session.rollback()
        return _model_page(gettext(problem.message, **(problem.params or {})), 409)
    session.commit()
    flash(gettext("Model version %(version)s trained.", version=model.version), "success")
    return redirect(url_for("tenant.warning.model"))
