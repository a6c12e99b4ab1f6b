"""Products (贷款产品) applications are made against, until the servicing plugins bring the
full catalogue: amount and term limits, the documents an application must carry and an
optional cap on one borrower's exposure. No Flask here; who may change them
(``intake.products``) is the adapters' check."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import marshmallow as ma
from marshmallow import validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loandesk.sdk import N_, NotFound, ValidationFailed, audit_changes, audit_record, message
from loandesk_intake.documents import KIND_KEYS
from loandesk_intake.models import Product

MAX_AMOUNT = Decimal("100000000")


class ProductInput(ma.Schema):
    """A product as written (API body or form); every limit checked here, once."""

    code = ma.fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,20}$"))
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    min_amount = ma.fields.Decimal(
        required=True, places=2, validate=validate.Range(min=Decimal("0.01"), max=MAX_AMOUNT)
    )
    max_amount = ma.fields.Decimal(
        required=True, places=2, validate=validate.Range(min=Decimal("0.01"), max=MAX_AMOUNT)
    )
    min_term_months = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=360))
    max_term_months = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=360))
    max_exposure = ma.fields.Decimal(
        load_default=None,
        allow_none=True,
        places=2,
        validate=validate.Range(min=Decimal("0.01"), max=MAX_AMOUNT),
    )
    required_documents = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(KIND_KEYS)), load_default=list
    )
    active = ma.fields.Boolean(load_default=True)

    @ma.validates_schema
    def _ranges(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        low, high = data.get("min_amount"), data.get("max_amount")
        if low and high and high < low:
            errors["max_amount"] = [message(N_("Enter at least the smallest amount."))]
        shortest, longest = data.get("min_term_months"), data.get("max_term_months")
        if shortest and longest and longest < shortest:
            errors["max_term_months"] = [message(N_("Enter at least the shortest term."))]
        if errors:
            raise ma.ValidationError(errors)


def list_products(session: Session, *, active_only: bool = False) -> list[Product]:
    query = select(Product).order_by(Product.code)
    if active_only:
        query = query.where(Product.active.is_(True))
    return list(session.scalars(query))


def get_product(session: Session, product_id: uuid.UUID) -> Product:
    found = session.scalar(select(Product).where(Product.id == product_id))
    if found is None:
        raise NotFound(N_("No such product."))
    return found


def has_products(session: Session) -> bool:
    """Whether the tenant keeps products: then every application names one."""
    return session.scalar(select(Product.id).limit(1)) is not None


def _clean(values: Mapping[str, Any], existing: Product | None) -> dict[str, Any]:
    given = dict(values)
    if existing is not None:  # a change: what is not given stays
        given = {**product_values(existing), **given}
    try:
        clean: dict[str, Any] = ProductInput().load(given)
    except ma.ValidationError as problem:
        errors = problem.normalized_messages()
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={k: v if isinstance(v, list) else [str(v)] for k, v in errors.items()},
        ) from None
    clean["required_documents"] = sorted(set(clean["required_documents"]), key=KIND_KEYS.index)
    return clean


def product_values(product: Product) -> dict[str, Any]:
    """The product as written (amounts as text): what its form shows, what audits compare."""
    return {
        "code": product.code,
        "name": product.name,
        "min_amount": str(product.min_amount),
        "max_amount": str(product.max_amount),
        "min_term_months": product.min_term_months,
        "max_term_months": product.max_term_months,
        "max_exposure": None if product.max_exposure is None else str(product.max_exposure),
        "required_documents": list(product.required_documents or []),
        "active": product.active,
    }


def _save(session: Session, product: Product) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"code": [message(N_("Another product has this code."))]},
        ) from None


def create_product(session: Session, values: Mapping[str, Any]) -> Product:
    """A new product, audited; 422 naming each wrong field."""
    product = Product(**_clean(values, None))
    session.add(product)
    _save(session, product)
    audit_record(
        session, "intake.product.create", "intake_product", product.id, product_values(product)
    )
    return product


def update_product(session: Session, product: Product, values: Mapping[str, Any]) -> Product:
    """Change a product (applications already made keep their amounts and terms)."""
    before = product_values(product)
    for key, value in _clean(values, product).items():
        setattr(product, key, value)
    _save(session, product)
    diff = audit_changes(before, product_values(product))
    if diff:
        audit_record(session, "intake.product.update", "intake_product", product.id, diff)
    return product


def check_limits(product: Product, amount: Decimal | None, term_months: int | None) -> None:
    """422 naming ``amount`` or ``term_months`` when outside the product's limits, and
    ``product_id`` when the product is no longer offered."""
    errors: dict[str, list[str]] = {}
    if not product.active:
        errors["product_id"] = [message(N_("This product is no longer offered."))]
    if amount is not None and not product.min_amount <= amount <= product.max_amount:
        errors["amount"] = [
            message(
                N_("The product lends from %(low)s to %(high)s."),
                low=f"{product.min_amount:,.2f}",
                high=f"{product.max_amount:,.2f}",
            )
        ]
    if term_months is not None and not (
        product.min_term_months <= term_months <= product.max_term_months
    ):
        errors["term_months"] = [
            message(
                N_("The product's terms are %(low)s to %(high)s months."),
                low=product.min_term_months,
                high=product.max_term_months,
            )
        ]
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
