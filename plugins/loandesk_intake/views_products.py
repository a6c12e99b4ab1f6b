"""The loan products page (Administration → 贷款产品): the list, and one form to add or
change a product, for those with ``intake.products``."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from loandesk import sdk
from loandesk_intake import products
from loandesk_intake.documents import KINDS, kind_label
from loandesk_intake.views import _locale, bp


@bp.get("/products", endpoint="products")
@sdk.permission_required("intake.products")
def product_list() -> Any:
    return render_template(
        "intake/products.html",
        products=products.list_products(sdk.session()),
        kind_label=kind_label,
        locale=_locale(),
    )


def _posted() -> dict[str, Any]:
    form = request.form
    return {
        "code": form.get("code", "").strip(),
        "name": form.get("name", "").strip(),
        "min_amount": form.get("min_amount", "").strip(),
        "max_amount": form.get("max_amount", "").strip(),
        "min_term_months": form.get("min_term_months", "").strip(),
        "max_term_months": form.get("max_term_months", "").strip(),
        "max_exposure": form.get("max_exposure", "").strip() or None,
        "required_documents": form.getlist("required_documents"),
        "active": form.get("active") == "on",
    }


@bp.route("/products/new", methods=["GET", "POST"], endpoint="product_new")
@bp.route("/products/<uuid:product_id>", methods=["GET", "POST"], endpoint="product_edit")
@sdk.permission_required("intake.products")
def product_form(product_id: uuid.UUID | None = None) -> Any:
    session = sdk.session()
    product = products.get_product(session, product_id) if product_id else None
    errors = sdk.FormErrors()
    if request.method == "POST":
        values = _posted()
        try:
            if product is None:
                products.create_product(session, values)
            else:
                products.update_product(session, product, values)
        except sdk.ValidationFailed as problem:
            session.rollback()
            errors.update(problem)
        else:
            session.commit()
            flash(gettext("Product saved."), "success")
            return redirect(url_for("tenant.intake.products"))
    elif product is not None:
        values = products.product_values(product)
    else:
        values = {"active": True, "required_documents": ["id_front", "id_back"]}
    locale = _locale()
    kinds = [(key, zh if locale.startswith("zh") else en) for key, zh, en in KINDS]
    return render_template(
        "intake/product_form.html", product=product, values=values, errors=errors, kinds=kinds
    ), (422 if errors else 200)
