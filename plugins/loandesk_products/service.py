"""Products (贷款产品) and their versions: creating a product publishes its first version, a
change publishes the next one, and a published version is never edited, so a loan made on
version 3 keeps version 3's terms whatever the product says later. No Flask here; who may
do it (``products.manage``) is the adapters' check."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    Conflict,
    NotFound,
    ValidationFailed,
    audit_changes,
    audit_record,
    emit,
    finance,
    message,
    rate_cap,
    uuid7,
)
from loandesk_products import pricing, terms_input
from loandesk_products.models import Product, ProductVersion

CODE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")


@dataclass(frozen=True)
class Page:
    items: list[Product]
    total: int


def list_products(
    session: Session, *, active_only: bool = False, page: int = 1, per_page: int = 20
) -> Page:
    query = select(Product)
    if active_only:
        query = query.where(Product.active.is_(True))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Product.code).offset((page - 1) * per_page).limit(per_page)
    )
    return Page(list(rows), total)


def get_product(session: Session, product_id: uuid.UUID) -> Product:
    found = session.scalar(select(Product).where(Product.id == product_id))
    if found is None:
        raise NotFound(N_("No such product."))
    return found


def versions(session: Session, product: Product) -> list[ProductVersion]:
    """The product's versions, newest first."""
    query = select(ProductVersion).where(ProductVersion.product_id == product.id)
    return list(session.scalars(query.order_by(ProductVersion.number.desc())))


def get_version(session: Session, product: Product, number: int | None = None) -> ProductVersion:
    """Version ``number`` of ``product`` (the one in force when None)."""
    wanted = product.latest_version if number is None else number
    found = session.scalar(
        select(ProductVersion).where(
            ProductVersion.product_id == product.id, ProductVersion.number == wanted
        )
    )
    if found is None:
        raise NotFound(N_("No such version of the product."))
    return found


def terms_of(product: Product, version: ProductVersion) -> finance.ProductTerms:
    return terms_input.from_stored(
        version.terms,
        product_id=product.id,
        version=version.number,
        code=product.code,
        name=version.name,
    )


def product_terms(
    session: Session, product_id: uuid.UUID, number: int | None = None
) -> finance.ProductTerms | None:
    """What ``loandesk_product_terms`` answers: None when there is no such product or version."""
    product = session.scalar(select(Product).where(Product.id == product_id))
    if product is None:
        return None
    try:
        return terms_of(product, get_version(session, product, number))
    except NotFound:
        return None


def catalogue(session: Session, *, include_inactive: bool = False) -> list[finance.ProductTerms]:
    """What ``loandesk_product_catalogue`` answers: the active products' terms in force (or
    every product's, ``include_inactive``), by code; a product without a published version
    yet has no terms and is left out."""
    query = select(Product).order_by(Product.code)
    if not include_inactive:
        query = query.where(Product.active.is_(True))
    found = []
    for product in session.scalars(query):
        try:
            found.append(terms_of(product, get_version(session, product)))
        except NotFound:
            continue
    return found


def _name(values: Mapping[str, Any], errors: dict[str, list[str]]) -> str:
    name = values.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        errors["name"] = [message(N_("Enter a name of 1 to 100 characters."))]
        return ""
    return name.strip()


def _note(values: Mapping[str, Any], errors: dict[str, list[str]]) -> str:
    note = values.get("note") or ""
    if not isinstance(note, str) or len(note) > 200:
        errors["note"] = [message(N_("Enter at most 200 characters."))]
        return ""
    return note.strip()


def _checked(
    values: Mapping[str, Any],
    errors: dict[str, list[str]],
    *,
    product_id: uuid.UUID,
    number: int,
    code: str,
    name: str,
) -> finance.ProductTerms:
    """The terms of ``values["terms"]``, within ranges and under the tenant's cap; every
    problem (the product's own fields' in ``errors`` too) in one 422."""
    raw = values.get("terms")
    try:
        terms = terms_input.load_terms(
            raw if isinstance(raw, Mapping) else {},
            product_id=product_id, version=number, code=code, name=name,
        )  # fmt: skip
    except ValidationFailed as problem:
        raise ValidationFailed(problem.message, errors={**errors, **problem.errors}) from None
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    pricing.check_cap(terms, rate_cap())
    return terms


def _flush(session: Session) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"code": [message(N_("Another product has this code."))]},
        ) from None


def create_product(
    session: Session, values: Mapping[str, Any], *, user_id: uuid.UUID | None = None
) -> Product:
    """A new product and its version 1 (audited, ``product.created``); 422 naming each wrong
    field, the cap on the annualised rate included."""
    errors: dict[str, list[str]] = {}
    code = values.get("code")
    if not isinstance(code, str) or not CODE.match(code):
        errors["code"] = [message(N_("Use 1 to 20 letters, digits, - and _."))]
    name = _name(values, errors)
    note = _note(values, errors)
    active = values.get("active", True)
    if not isinstance(active, bool):
        errors["active"] = [message(N_("Enter true or false."))]
    product_id = uuid7()
    terms = _checked(values, errors, product_id=product_id, number=1, code=str(code), name=name)
    product = Product(id=product_id, code=code, name=name, active=active, latest_version=1)
    session.add(product)
    _flush(session)
    version = ProductVersion(
        product_id=product.id, number=1, name=name, terms=terms_input.stored(terms), note=note,
        created_by_id=user_id,
    )  # fmt: skip
    session.add(version)
    session.flush()
    audit_record(
        session, "products.product.create", "product", product.id,
        {"code": code, "name": name, "active": active, "version": 1, "terms": version.terms},
    )  # fmt: skip
    emit(session, "product.created", "product", product.id, {"code": code, "version": 1})
    return product


def publish_version(
    session: Session,
    product: Product,
    values: Mapping[str, Any],
    *,
    user_id: uuid.UUID | None = None,
) -> ProductVersion:
    """The product's next version from ``values`` (``terms``, and ``name`` / ``note``), checked
    like a new product's; earlier versions stay as they were. Audited with the terms that
    changed, ``product.version_published``."""
    errors: dict[str, list[str]] = {}
    name = _name({"name": values.get("name", product.name)}, errors)
    note = _note(values, errors)
    number = product.latest_version + 1
    terms = _checked(
        values, errors, product_id=product.id, number=number, code=product.code, name=name
    )
    before = get_version(session, product)
    version = ProductVersion(
        product_id=product.id, number=number, name=name, terms=terms_input.stored(terms),
        note=note, created_by_id=user_id,
    )  # fmt: skip
    session.add(version)
    product.latest_version, product.name = number, name
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # another publication took this number first
        raise Conflict(N_("The product changed meanwhile: reload it and try again.")) from None
    diff = audit_changes(flat(before), flat(version))
    audit_record(
        session, "products.version.publish", "product", product.id,
        {"version": [before.number, number], **diff},
    )  # fmt: skip
    emit(
        session, "product.version_published", "product", product.id,
        {"code": product.code, "version": number},
    )  # fmt: skip
    return version


def set_active(session: Session, product: Product, active: Any) -> Product:
    """Offer the product to new loans or stop offering it (its versions stay)."""
    if not isinstance(active, bool):
        raise ValidationFailed(
            N_("Some fields need attention."), errors={"active": [N_("Enter true or false.")]}
        )
    if product.active != active:
        audit_record(
            session, "products.product.update", "product", product.id,
            {"active": [product.active, active]},
        )  # fmt: skip
        product.active = active
        session.flush()
    return product


def flat(version: ProductVersion) -> dict[str, Any]:
    """A version's name and terms as ``{"penalty.grace_days": 3, "fees.0.value": "0.02"}``:
    what a version diff compares."""
    out: dict[str, Any] = {"name": version.name}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else key, item)
        elif prefix == "fees" and isinstance(value, list):  # no fees: no rows, not "[]"
            for i, item in enumerate(value):
                walk(f"{prefix}.{i}", item)
        else:
            out[prefix] = value

    walk("", version.terms)
    return out


def version_diff(older: ProductVersion | None, newer: ProductVersion) -> dict[str, Any]:
    """What changed from ``older`` to ``newer`` (``{path: [old, new]}``); all of it for v1."""
    return audit_changes(flat(older) if older else {}, flat(newer))


def cap() -> Decimal:
    """The current tenant's cap on the annualised rate (a fraction)."""
    return rate_cap()
