"""``/api/v1/webhooks``: webhook subscriptions (事件推送) — URLs that receive the tenant's
events, signed — with their delivery log, resends and test pings. Reading needs
``automations:read``; changing needs ``automations:write`` and, for both, a client acting
for a staff member who holds ``automations.manage`` (the permission that guards the
webhook secret)."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loandesk import extension
from loandesk.api.schemas import MAX_PAGE
from loandesk.auth.oauth import require_token
from loandesk.rbac.current import acting_user_with
from loandesk.webhooks import service
from loandesk.webhooks.models import WebhookDelivery, WebhookSubscription

MANAGE = "automations.manage"

blp = Blueprint(
    "api_webhooks",
    __name__,
    url_prefix="/webhooks",
    description="Webhook subscriptions (事件推送): each committed event a subscription wants "
    "is POSTed to its URL as JSON, signed with the tenant's webhook secret "
    "(`X-LoanDesk-Signature: sha256=<HMAC-SHA256 of timestamp.body>`), retried with backoff "
    "(1 min, 5 min, 30 min, 2 h, 6 h), and logged attempt by attempt. A subscription whose "
    "deliveries fail 10 times in a row is disabled. Needs a client acting for a staff member "
    "with `automations.manage`.",
)


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = ma.fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class SubscriptionWriteSchema(ma.Schema):
    url = ma.fields.String(required=True, metadata={"description": "https URL of the receiver"})
    events = ma.fields.List(
        ma.fields.String(), required=True,
        metadata={"description": 'event names such as "loan.disbursed", or ["*"] for all'},
    )  # fmt: skip
    description = ma.fields.String(load_default="")


class ActiveArgs(ma.Schema):
    active = ma.fields.Boolean(required=True)


class SubscriptionSchema(ma.Schema):
    id = ma.fields.UUID()
    url = ma.fields.String()
    events = ma.fields.List(ma.fields.String())
    description = ma.fields.String()
    active = ma.fields.Boolean()
    consecutive_failures = ma.fields.Integer()
    disabled_at = ma.fields.DateTime(allow_none=True)
    disabled_reason = ma.fields.String()
    last_success_at = ma.fields.DateTime(allow_none=True)
    last_error = ma.fields.String()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class SubscriptionPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SubscriptionSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()


class AttemptSchema(ma.Schema):
    sequence = ma.fields.Integer()
    number = ma.fields.Integer()
    at = ma.fields.String()
    url = ma.fields.String()
    request_headers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    status = ma.fields.Integer(allow_none=True)
    response = ma.fields.String(metadata={"description": "the start of the answer"})
    error = ma.fields.String()
    duration_ms = ma.fields.Integer()


class DeliverySchema(ma.Schema):
    id = ma.fields.UUID(metadata={"description": "also the Idempotency-Key of every attempt"})
    subscription_id = ma.fields.UUID()
    event_id = ma.fields.UUID(allow_none=True)
    event_type = ma.fields.String()
    state = ma.fields.String(metadata={"description": "pending, succeeded or failed"})
    body = ma.fields.String(metadata={"description": "the exact JSON sent"})
    sequence = ma.fields.Integer()
    attempt = ma.fields.Integer()
    attempts = ma.fields.List(ma.fields.Nested(AttemptSchema))
    response_status = ma.fields.Integer(allow_none=True)
    error = ma.fields.String()
    next_attempt_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class DeliveryPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DeliverySchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()


def _event_types() -> Any:
    return current_app.extensions["loandesk.events"].types


@blp.route("")
class Subscriptions(MethodView):
    @require_token("automations:read")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, SubscriptionPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The tenant's subscriptions, oldest first."""
        acting_user_with(MANAGE)
        rows, total = service.list_subscriptions(extension.session(), **args)
        return {"items": rows, "total": total, **args}

    @require_token("automations:write")
    @blp.arguments(SubscriptionWriteSchema)
    @blp.response(201, SubscriptionSchema)
    @blp.alt_response(422, description="Problems keyed by field: url, events, description")
    def post(self, args: dict[str, Any]) -> WebhookSubscription:
        """Subscribe a URL to events (audited)."""
        user = acting_user_with(MANAGE)
        session = extension.session()
        row = service.create(session, args, _event_types(), user_id=user.id)
        session.commit()
        return row


@blp.route("/<uuid:subscription_id>")
class Subscription(MethodView):
    @require_token("automations:read")
    @blp.response(200, SubscriptionSchema)
    def get(self, subscription_id: uuid.UUID) -> WebhookSubscription:
        """One subscription."""
        acting_user_with(MANAGE)
        return service.get(extension.session(), subscription_id)

    @require_token("automations:write")
    @blp.arguments(SubscriptionWriteSchema)
    @blp.response(200, SubscriptionSchema)
    @blp.alt_response(422, description="Problems keyed by field")
    def put(self, args: dict[str, Any], subscription_id: uuid.UUID) -> WebhookSubscription:
        """Change URL, events and description (audited)."""
        acting_user_with(MANAGE)
        session = extension.session()
        row = service.get(session, subscription_id)
        service.update_subscription(session, row, args, _event_types())
        session.commit()
        return row

    @require_token("automations:write")
    @blp.arguments(ActiveArgs)
    @blp.response(200, SubscriptionSchema)
    def patch(self, args: dict[str, Any], subscription_id: uuid.UUID) -> WebhookSubscription:
        """Disable, or re-enable (failures forgotten; audited)."""
        acting_user_with(MANAGE)
        session = extension.session()
        row = service.set_active(session, service.get(session, subscription_id), args["active"])
        session.commit()
        return row

    @require_token("automations:write")
    @blp.response(204)
    def delete(self, subscription_id: uuid.UUID) -> None:
        """Delete a subscription and its delivery log (audited)."""
        acting_user_with(MANAGE)
        session = extension.session()
        service.delete(session, service.get(session, subscription_id))
        session.commit()


@blp.route("/<uuid:subscription_id>/deliveries")
class Deliveries(MethodView):
    @require_token("automations:read")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, DeliveryPage)
    def get(self, args: dict[str, Any], subscription_id: uuid.UUID) -> dict[str, Any]:
        """The subscription's deliveries, newest first, each with its attempts."""
        acting_user_with(MANAGE)
        session = extension.session()
        row = service.get(session, subscription_id)
        rows, total = service.list_deliveries(session, row, **args)
        return {"items": rows, "total": total, **args}


@blp.route("/<uuid:subscription_id>/ping")
class Ping(MethodView):
    @require_token("automations:write")
    @blp.response(201, DeliverySchema)
    def post(self, subscription_id: uuid.UUID) -> WebhookDelivery:
        """Send a test delivery (event ``webhook.ping``)."""
        acting_user_with(MANAGE)
        session = extension.session()
        delivery = service.ping(session, service.get(session, subscription_id))
        session.commit()
        return delivery


@blp.route("/deliveries/<uuid:delivery_id>/resend")
class Resend(MethodView):
    @require_token("automations:write")
    @blp.response(200, DeliverySchema)
    @blp.alt_response(409, description="The delivery is still being sent")
    def post(self, delivery_id: uuid.UUID) -> WebhookDelivery:
        """Send a delivery again: a new sequence of attempts (audited)."""
        acting_user_with(MANAGE)
        session = extension.session()
        delivery = service.resend(session, service.get_delivery(session, delivery_id))
        session.commit()
        return delivery
