"""``/api/v1/applications/products``: the loan products applications are made against.
Anyone whose client may read records lists them (a partner picks one); creating and
changing them needs the ``intake.products`` permission (admins, risk managers)."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView

from loandesk import sdk
from loandesk_intake import products
from loandesk_intake.api import blp
from loandesk_intake.documents import KINDS


class ProductSchema(ma.Schema):
    id = ma.fields.UUID()
    code = ma.fields.String()
    name = ma.fields.String(metadata={"description": "The product's name (Chinese)"})
    min_amount = ma.fields.Decimal(as_string=True, places=2)
    max_amount = ma.fields.Decimal(as_string=True, places=2)
    min_term_months = ma.fields.Integer()
    max_term_months = ma.fields.Integer()
    max_exposure = ma.fields.Decimal(
        as_string=True,
        places=2,
        allow_none=True,
        metadata={"description": "Cap on one borrower's total exposure (none: the tenant's)"},
    )
    required_documents = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Document kinds: " + ", ".join(k for k, _, _ in KINDS)},
    )
    active = ma.fields.Boolean()


class ProductWriteSchema(ma.Schema):
    """Amounts as strings ("50000.00"); checked by the service (422 naming each field)."""

    class Meta:
        unknown = ma.EXCLUDE

    code = ma.fields.Raw()
    name = ma.fields.Raw()
    min_amount = ma.fields.Raw()
    max_amount = ma.fields.Raw()
    min_term_months = ma.fields.Raw()
    max_term_months = ma.fields.Raw()
    max_exposure = ma.fields.Raw(allow_none=True)
    required_documents = ma.fields.Raw()
    active = ma.fields.Raw()


class ProductListArgs(sdk.PageArgs):
    active = ma.fields.Boolean(load_default=False, metadata={"description": "Only active ones"})


@blp.route("/products")
class Products(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(ProductListArgs, location="query")
    @blp.response(200, sdk.page_of(ProductSchema, "ProductPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The tenant's products by code (``active=true``: those offered)."""
        found = products.list_products(sdk.session(), active_only=args["active"])
        page, per_page = args["page"], args["per_page"]
        items = found[(page - 1) * per_page : page * per_page]
        return {"items": items, "page": page, "per_page": per_page, "total": len(found)}

    @sdk.require_token("records:write")
    @blp.arguments(ProductWriteSchema)
    @blp.response(201, ProductSchema)
    @blp.alt_response(422, description="A field is missing or wrong (named in errors)")
    @blp.alt_response(403, description="Without the intake.products permission")
    def post(self, args: dict[str, Any]) -> Any:
        """A new product (audited)."""
        sdk.acting_user_with("intake.products")
        product = products.create_product(sdk.session(), args)
        sdk.session().commit()
        return product


@blp.route("/products/<uuid:product_id>")
class ProductById(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, ProductSchema)
    def get(self, product_id: uuid.UUID) -> Any:
        return products.get_product(sdk.session(), product_id)

    @sdk.require_token("records:write")
    @blp.arguments(ProductWriteSchema)
    @blp.response(200, ProductSchema)
    @blp.alt_response(422, description="A field is wrong (named in errors)")
    def patch(self, args: dict[str, Any], product_id: uuid.UUID) -> Any:
        """Change a product; what is not given stays (audited). ``active: false`` stops it
        being offered to new applications."""
        sdk.acting_user_with("intake.products")
        product = products.get_product(sdk.session(), product_id)
        products.update_product(sdk.session(), product, args)
        sdk.session().commit()
        return product
