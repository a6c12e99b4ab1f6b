"""Product pages: the catalogue, a product with its version history (what changed in each),
the editor that publishes a version (with a live preview of the annualised rate over the
product's ranges), and the loan calculator. Full pages, or their fragment for htmx."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from loandesk import sdk
from loandesk_products import calculator, forms, pricing, service, terms_input
from loandesk_products.api import quote_values

bp = Blueprint(
    "products",
    __name__,
    url_prefix="/products",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
PER_PAGE = 20


def _htmx() -> bool:
    return bool(request.headers.get("HX-Request"))


def _choices() -> dict[str, Any]:
    """Every select's options, labels translated."""

    def tr(pairs: Any) -> list[tuple[str, str]]:
        return [(value, gettext(label)) for value, label in pairs]

    return {
        "methods": tr(forms.METHODS),
        "frequencies": tr(forms.FREQUENCIES),
        "day_counts": list(forms.DAY_COUNTS),
        "first_periods": tr(forms.FIRST_PERIODS),
        "date_rolls": tr(forms.DATE_ROLLS),
        "roundings": tr(forms.INSTALLMENT_ROUNDINGS),
        "remainders": tr(forms.REMAINDERS),
        "fee_kinds": tr(forms.FEE_KINDS),
        "fee_bases": tr(forms.FEE_BASES),
        "penalty_bases": tr(forms.PENALTY_BASES),
        "parts": tr(forms.PARTS),
        "recalculations": tr(forms.RECALCULATIONS),
        "max_fees": forms.MAX_FEES,
    }


@bp.get("/", endpoint="index")
@sdk.permission_required("products.view")
def product_list() -> Any:
    page = sdk.page_asked()
    found = service.list_products(sdk.session(), page=page, per_page=PER_PAGE)
    result = {"items": found.items, "page": page, "per_page": PER_PAGE, "total": found.total}
    return render_template("products/index.html", result=result)


def _form_errors(problem: sdk.DomainError, rows: list[int]) -> sdk.FormErrors:
    errors = sdk.FormErrors()
    errors.update(problem, rename={path: forms.error_name(path, rows) for path in problem.errors})
    if problem.errors:  # the form's summary above the fields too
        errors.form.append(gettext(problem.message, **problem.params))
    return errors


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@sdk.permission_required("products.manage")
def product_new() -> Any:
    session = sdk.session()
    errors = sdk.FormErrors()
    values = forms.defaults()
    if request.method == "POST":
        values = forms.posted_values(request.form)
        try:
            product = service.create_product(
                session, forms.product_from(request.form), user_id=g.user.id
            )
        except sdk.ValidationFailed as problem:
            session.rollback()
            errors = _form_errors(problem, forms.fee_rows(request.form))
        else:
            session.commit()
            flash(gettext("Product saved."), "success")
            return redirect(url_for("tenant.products.detail", product_id=product.id))
    return render_template(
        "products/form.html", product=None, values=values, errors=errors, **_choices()
    ), (422 if errors else 200)


@bp.route("/<uuid:product_id>/edit", methods=["GET", "POST"], endpoint="edit")
@sdk.permission_required("products.manage")
def product_edit(product_id: uuid.UUID) -> Any:
    """Publish the next version: the form starts from the version in force."""
    session = sdk.session()
    product = service.get_product(session, product_id)
    errors = sdk.FormErrors()
    if request.method == "POST":
        values = forms.posted_values(request.form)
        try:
            service.publish_version(
                session, product, forms.product_from(request.form), user_id=g.user.id
            )
        except (sdk.ValidationFailed, sdk.Conflict) as problem:
            session.rollback()
            errors = _form_errors(problem, forms.fee_rows(request.form))
        else:
            session.commit()
            flash(
                gettext("Version %(number)s published.", number=product.latest_version), "success"
            )
            return redirect(url_for("tenant.products.detail", product_id=product.id))
    else:
        version = service.get_version(session, product)
        values = {**forms.field_values(version.terms), "name": product.name}
    return render_template(
        "products/form.html", product=product, values=values, errors=errors, **_choices()
    ), (422 if errors else 200)


@bp.post("/rates", endpoint="rates")
@sdk.permission_required("products.manage")
def rate_preview() -> Any:
    """The editor's live preview: the lowest and highest annualised rate (IRR, fees
    included) over the ranges typed so far, against the cap. Nothing is saved."""
    rates, problems = None, None
    try:
        terms = terms_input.load_terms(
            forms.terms_from(request.form), product_id=None, version=0, code="", name=""
        )
        rates = pricing.rate_range(terms)
    except sdk.ValidationFailed as problem:
        problems = _form_errors(problem, forms.fee_rows(request.form))
    return render_template(
        "products/_rates.html", rates=rates, problems=problems, cap=service.cap(),
        percent=pricing.percent,
    )  # fmt: skip


@bp.get("/<uuid:product_id>", endpoint="detail")
@sdk.permission_required("products.view")
def product_detail(product_id: uuid.UUID) -> Any:
    session = sdk.session()
    product = service.get_product(session, product_id)
    history = service.versions(session, product)
    changes = {
        v.number: _diff_rows(history[i + 1] if i + 1 < len(history) else None, v)
        for i, v in enumerate(history)
    }
    return render_template(
        "products/detail.html", product=product, history=history, all_changes=changes,
        current=history[0], label=_label, shown=_shown, **_choices(),
    )  # fmt: skip


@bp.get("/<uuid:product_id>/versions/<int:number>", endpoint="version")
@sdk.permission_required("products.view")
def version_detail(product_id: uuid.UUID, number: int) -> Any:
    session = sdk.session()
    product = service.get_product(session, product_id)
    version = service.get_version(session, product, number)
    older = service.get_version(session, product, number - 1) if number > 1 else None
    return render_template(
        "products/version.html", product=product, version=version,
        changes=_diff_rows(older, version), label=_label, shown=_shown,
        **_choices(),
    )  # fmt: skip


@bp.post("/<uuid:product_id>/active", endpoint="active")
@sdk.permission_required("products.manage")
def product_active(product_id: uuid.UUID) -> Any:
    session = sdk.session()
    product = service.get_product(session, product_id)
    service.set_active(session, product, request.form.get("active") == "on")
    session.commit()
    return redirect(url_for("tenant.products.detail", product_id=product.id))


def _diff_rows(older: Any, newer: Any) -> list[tuple[str, str, str]]:
    """What ``newer`` changed from ``older`` as (term, before, after), in the editor's order."""

    def order(path: str) -> tuple[int, str]:
        head = path.split(".", 1)[0]
        keys = terms_input.TERM_KEYS
        return (keys.index(head) if head in keys else -1, path)

    changes = service.version_diff(older, newer)
    return [
        (_label(path), _shown_in(path, old, older), _shown_in(path, new, newer))
        for path, (old, new) in sorted(changes.items(), key=lambda item: order(item[0]))
    ]


def _shown_in(path: str, value: Any, version: Any) -> str:
    """A value of ``version``'s terms as staff read it: a percentage fee as a percentage."""
    parts = path.split(".")
    if version is not None and value is not None and parts[0] == "fees" and parts[-1] == "value":
        fees = version.terms.get("fees") or []
        index = int(parts[1])
        if index < len(fees) and fees[index].get("basis") == "percent":
            return _shown("annual_rate", value)
    return _shown(path, value)


def _label(path: str) -> str:
    return forms.path_label(path, gettext)


def _shown(path: str, value: Any) -> str:
    """A stored terms value as staff read it (rates as percentages, choices by label)."""
    return forms.shown(path, value, gettext)


@bp.route("/calculator", methods=["GET", "POST"], endpoint="calculator")
@sdk.permission_required("products.view")
def calculator_page() -> Any:
    """The loan calculator: a product (or terms typed in), an amount, periods and a start
    date → the schedule, the annualised rate and the APR; printable."""
    session = sdk.session()
    offered = service.list_products(session, active_only=True, per_page=500).items
    errors, result = sdk.FormErrors(), None
    values: dict[str, Any] = {
        "start_date": pricing.local_today().isoformat(), **forms.defaults(), "principal": "10000",
        "periods": "12",
    }  # fmt: skip
    if request.method == "POST":
        values = forms.posted_values(request.form)
        body = {
            "product_id": request.form.get("product_id") or None,
            "principal": request.form.get("principal", "").strip(),
            "periods": request.form.get("periods", "").strip(),
            "start_date": request.form.get("start_date", "").strip() or None,
        }
        if body["product_id"] is None:
            body.update(forms.schedule_terms_from(request.form))
        try:
            result = quote_values(calculator.quote(session, body))
        except sdk.ValidationFailed as problem:
            errors = _form_errors(problem, forms.fee_rows(request.form))
    template = "products/_schedule.html" if _htmx() else "products/calculator.html"
    product_options = [("", gettext("No product: terms typed below"))] + [
        (str(p.id), f"{p.code} · {p.name}") for p in offered
    ]
    return render_template(
        template, product_options=product_options, values=values, errors=errors, result=result,
        money=lambda amount: f"{Decimal(amount):,.2f}",
        percent_text=lambda rate: pricing.percent(Decimal(rate)), **_choices(),
    ), (422 if errors else 200)  # fmt: skip
