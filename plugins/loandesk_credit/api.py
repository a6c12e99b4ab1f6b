"""``/api/v1/credit/queries``: ask for a customer's credit data (credit.query) and list the
external calls with their cost (credit.view_queries: finance and risk). Amounts are strings
(``"2.50"``), never JSON numbers."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from loandesk import sdk
from loandesk_credit import service

blp = Blueprint(
    "credit",
    __name__,
    url_prefix="/credit",
    description="Credit data (征信数据): queries through the tenant's connector, with the "
    "customer's consent, cached for the tenant's validity and counted with their cost.",
)


class QueryRequestSchema(ma.Schema):
    customer_id = ma.fields.UUID(required=True)
    application_id = ma.fields.UUID(
        load_default=None, metadata={"description": "The application the query is for"}
    )


class QueryResultSchema(ma.Schema):
    query_id = ma.fields.UUID(metadata={"description": "The external call the variables are from"})
    connector = ma.fields.String()
    cached = ma.fields.Boolean(metadata={"description": "Reused within the validity: no cost"})
    queried_at = ma.fields.DateTime()
    variables = ma.fields.Dict(
        metadata={"description": "Normalised variables: the connector's and the own history's"}
    )


class CreditQuerySchema(ma.Schema):
    id = ma.fields.UUID()
    customer_id = ma.fields.UUID()
    application_id = ma.fields.UUID(allow_none=True)
    connector = ma.fields.String()
    status = ma.fields.String(metadata={"description": "ok or failed"})
    cost = ma.fields.Decimal(as_string=True, metadata={"description": 'Yuan, as "2.50"'})
    duration_ms = ma.fields.Integer()
    asked_by_id = ma.fields.UUID()
    error = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class QueryListArgs(sdk.PageArgs):
    customer_id = ma.fields.UUID(load_default=None)


def _require(permission: str) -> None:
    if not sdk.acting_user().can(permission):
        raise sdk.Forbidden(
            sdk.N_("You lack the permission %(permission)s."), params={"permission": permission}
        )


@blp.route("/queries")
class Queries(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(QueryRequestSchema)
    @blp.response(200, QueryResultSchema)
    @blp.alt_response(422, description="The customer has not consented to a credit query")
    @blp.alt_response(502, description="The connector gave no result (the call is recorded)")
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """The customer's credit variables (credit.query): the cached result within the
        tenant's validity, otherwise one call to the tenant's connector."""
        _require("credit.query")
        session = sdk.session()
        try:
            result = service.query(
                session,
                sdk.record_access("customer"),
                args["customer_id"],
                application_id=args["application_id"],
            )
        except service.QueryFailed:
            session.commit()  # the failed call and its audit event are kept
            raise
        own = service.internal_variables(session, args["customer_id"])
        session.commit()
        return {
            "query_id": result.query.id,
            "connector": result.connector,
            "cached": result.cached,
            "queried_at": result.query.created_at,
            "variables": {**own, **result.variables},
        }

    @sdk.require_token("records:read")
    @blp.arguments(QueryListArgs, location="query")
    @blp.response(200, sdk.page_of(CreditQuerySchema, "CreditQueryPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The tenant's external credit calls, newest first, with cost and outcome
        (credit.view_queries); never the variables or personal data."""
        _require("credit.view_queries")
        items, total = service.queries(sdk.session(), **args)
        return {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}
