"""``/api/v1/products``: loan products and their versions, and ``/api/v1/schedules/preview``:
the loan calculator. Reading needs ``products.view``, changing ``products.manage``, each held
by the staff member the API client acts for."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from loandesk import sdk
from loandesk_products import calculator, service
from loandesk_products.models import Product, ProductVersion
from loandesk_products.schemas import (
    CatalogProductDetailSchema,
    CatalogProductSchema,
    CatalogProductWriteSchema,
    PreviewSchema,
    ProductListArgs,
    ProductPatchSchema,
    ProductVersionSchema,
    QuoteSchema,
)

blp = Blueprint(
    "products",
    __name__,
    description="Loan products (贷款产品) with versioned terms, and the loan calculator "
    "(贷款计算器). A change publishes a new version; loans keep the version they were made on. "
    "No version may cost more than the tenant's cap on the annualised rate, measured as the "
    "IRR with every fee included, anywhere in its ranges (422 naming annual_rate).",
)


def _detail(product: Product) -> dict[str, Any]:
    session = sdk.session()
    history = service.versions(session, product)
    return {
        **{k: getattr(product, k) for k in CatalogProductSchema().fields},
        "terms": history[0].terms,
        "versions": history,
    }


def _version(product: Product, version: ProductVersion) -> dict[str, Any]:
    older = None
    if version.number > 1:
        older = service.get_version(sdk.session(), product, version.number - 1)
    return {
        **{k: getattr(version, k) for k in ("number", "name", "note", "created_at")},
        "created_by_id": version.created_by_id,
        "terms": version.terms,
        "changes": service.version_diff(older, version),
    }


@blp.route("/products")
class Products(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(ProductListArgs, location="query")
    @blp.response(200, sdk.page_of(CatalogProductSchema, "ProductsPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The tenant's products by code (``active=true``: only those offered)."""
        sdk.acting_user_with("products.view")
        found = service.list_products(
            sdk.session(), active_only=args["active"], page=args["page"], per_page=args["per_page"]
        )
        return {
            "items": found.items,
            "page": args["page"],
            "per_page": args["per_page"],
            "total": found.total,
        }

    @sdk.require_token("records:write")
    @blp.arguments(CatalogProductWriteSchema)
    @blp.response(201, CatalogProductDetailSchema)
    @blp.alt_response(422, description="A field is wrong, or over the cap (named in errors)")
    @blp.alt_response(403, description="Without products.manage")
    def post(self, args: dict[str, Any]) -> Any:
        """A new product and its version 1 (audited; event ``product.created``)."""
        user = sdk.acting_user_with("products.manage")
        product = service.create_product(sdk.session(), args, user_id=user.id)
        sdk.session().commit()
        return _detail(product)


@blp.route("/products/<uuid:product_id>")
class ProductById(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, CatalogProductDetailSchema)
    def get(self, product_id: uuid.UUID) -> Any:
        """The product, the terms in force and the list of its versions (newest first)."""
        sdk.acting_user_with("products.view")
        return _detail(service.get_product(sdk.session(), product_id))

    @sdk.require_token("records:write")
    @blp.arguments(CatalogProductWriteSchema)
    @blp.response(200, CatalogProductDetailSchema)
    @blp.alt_response(422, description="A field is wrong, or over the cap (named in errors)")
    def put(self, args: dict[str, Any], product_id: uuid.UUID) -> Any:
        """Publish the next version with these ``terms`` (and ``name``, ``note``); the earlier
        versions stay as they were (event ``product.version_published``)."""
        user = sdk.acting_user_with("products.manage")
        product = service.get_product(sdk.session(), product_id)
        service.publish_version(sdk.session(), product, args, user_id=user.id)
        sdk.session().commit()
        return _detail(product)

    @sdk.require_token("records:write")
    @blp.arguments(ProductPatchSchema)
    @blp.response(200, CatalogProductSchema)
    def patch(self, args: dict[str, Any], product_id: uuid.UUID) -> Any:
        """Offer the product to new loans (``active: true``) or stop; no new version."""
        sdk.acting_user_with("products.manage")
        product = service.get_product(sdk.session(), product_id)
        service.set_active(sdk.session(), product, args["active"])
        sdk.session().commit()
        return product


@blp.route("/products/<uuid:product_id>/versions")
class Versions(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, ProductVersionSchema(many=True))
    def get(self, product_id: uuid.UUID) -> Any:
        """Every version, newest first, each with what changed from the one before."""
        sdk.acting_user_with("products.view")
        product = service.get_product(sdk.session(), product_id)
        return [_version(product, v) for v in service.versions(sdk.session(), product)]

    @sdk.require_token("records:write")
    @blp.arguments(CatalogProductWriteSchema)
    @blp.response(201, ProductVersionSchema)
    @blp.alt_response(422, description="A field is wrong, or over the cap (named in errors)")
    def post(self, args: dict[str, Any], product_id: uuid.UUID) -> Any:
        """Publish the next version (as ``PUT /products/{id}``); answers the new version."""
        user = sdk.acting_user_with("products.manage")
        product = service.get_product(sdk.session(), product_id)
        version = service.publish_version(sdk.session(), product, args, user_id=user.id)
        sdk.session().commit()
        return _version(product, version)


@blp.route("/products/<uuid:product_id>/versions/<int:number>")
class VersionByNumber(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, ProductVersionSchema)
    def get(self, product_id: uuid.UUID, number: int) -> Any:
        """One version, as it was published (readable for as long as the product exists)."""
        sdk.acting_user_with("products.view")
        product = service.get_product(sdk.session(), product_id)
        return _version(product, service.get_version(sdk.session(), product, number))


@blp.route("/schedules/preview")
class SchedulePreview(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(PreviewSchema)
    @blp.response(200, QuoteSchema)
    @blp.alt_response(
        422, description="Outside the product's ranges or over the cap (named in errors)"
    )
    def post(self, args: dict[str, Any]) -> Any:
        """The loan calculator (贷款计算器): every installment of the loan described, the
        totals, the annualised rate (IRR, fees included) and the APR. Nothing is saved."""
        sdk.acting_user_with("products.view")
        found = calculator.quote(sdk.session(), args)
        return quote_values(found)


def quote_values(found: calculator.Quote) -> dict[str, Any]:
    schedule = found.schedule
    return {
        "product_id": found.product.product_id if found.product else None,
        "version": found.product.version if found.product else None,
        "start_date": found.terms.start_date,
        "installments": schedule.installments,
        "totals": {
            "principal": schedule.total_principal,
            "interest": schedule.total_interest,
            "fees": schedule.total_fees,
            "total": schedule.total,
            "upfront_fees": schedule.upfront_fees,
            "disbursed": schedule.disbursed,
        },
        "annual_rate_irr": str(schedule.annual_rate_irr),
        "apr": str(schedule.apr),
        "effective_annual_rate": str(schedule.effective_annual_rate),
        "rate_cap": str(found.cap),
    }
