"""``/api/v1/disbursements``: disbursement orders (放款单) as the staff member the API client
acts for may see and handle them. Amounts are strings (``"50000.00"``). Creating and paying
take an ``Idempotency-Key`` header: a retried request never creates or pays twice."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask import request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loandesk import sdk
from loandesk_disbursement import alerts, payout, service
from loandesk_disbursement.models import STATUSES
from loandesk_disbursement.present import find, list_orders, present, present_one

blp = Blueprint(
    "disbursement",
    __name__,
    url_prefix="/disbursements",
    description="Disbursement orders (放款单): requested by one staff member, approved by "
    "another (maker-checker), then paid through a payout channel or marked paid by hand. "
    "When an order is paid its loan becomes active with its schedule from the day paid.",
)


class ShareSchema(ma.Schema):
    funder_id = ma.fields.UUID(allow_none=True)
    funder_name = ma.fields.String()
    share = ma.fields.String(metadata={"description": 'e.g. "70%"'})
    amount = ma.fields.Decimal(as_string=True, places=2)


class OrderSchema(ma.Schema):
    id = ma.fields.UUID()
    number = ma.fields.String(metadata={"description": "FK + date + sequence"})
    loan_id = ma.fields.UUID()
    loan_number = ma.fields.String()
    customer_id = ma.fields.UUID()
    product_id = ma.fields.UUID(allow_none=True)
    product_name = ma.fields.String()
    amount = ma.fields.Decimal(as_string=True, places=2)
    account_name = ma.fields.String()
    bank_name = ma.fields.String()
    account_number = ma.fields.String(
        allow_none=True,
        metadata={"description": "The payee's card, masked unless the viewer may see it"},
    )
    status = ma.fields.String(metadata={"description": ", ".join(STATUSES)})
    method = ma.fields.String(
        allow_none=True, metadata={"description": '"manual" or the payout channel\'s key'}
    )
    requested_by_id = ma.fields.UUID()
    requested_at = ma.fields.String()
    reviewed_by_id = ma.fields.UUID(allow_none=True)
    reviewed_at = ma.fields.DateTime(allow_none=True)
    reject_reason = ma.fields.String(allow_none=True)
    provider_reference = ma.fields.String(allow_none=True)
    bank_reference = ma.fields.String(allow_none=True)
    paid_on = ma.fields.String(allow_none=True)
    failure_reason = ma.fields.String(allow_none=True)
    alert = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "Needs checking (需核查): the channel reported a payout paid that "
            "the order does not record (money may have gone out twice); null when none stands"
        },
    )
    alert_at = ma.fields.DateTime(allow_none=True)
    masked = ma.fields.List(ma.fields.String())
    shares = ma.fields.List(
        ma.fields.Nested(ShareSchema),
        metadata={"description": "One order only: the amount split between the loan's funders"},
    )


class OrderCreateSchema(ma.Schema):
    loan_id = ma.fields.Raw(required=True, metadata={"description": "A pending loan's id"})
    amount = ma.fields.Raw(
        required=True, metadata={"description": 'The loan\'s principal, as a string: "50000.00"'}
    )
    account_name = ma.fields.String(required=True, metadata={"description": "收款户名"})
    account_number = ma.fields.String(required=True, metadata={"description": "The card number"})
    bank_name = ma.fields.String(required=True, metadata={"description": "开户银行"})


class RejectSchema(ma.Schema):
    reason = ma.fields.String(required=True)


class PaySchema(ma.Schema):
    connector = ma.fields.String(
        required=True,
        metadata={"description": "The payout channel's key (GET /disbursements/connectors)"},
    )


class MarkPaidSchema(ma.Schema):
    bank_reference = ma.fields.String(required=True)
    paid_on = ma.fields.String(
        required=True, metadata={"description": "YYYY-MM-DD, not after today"}
    )


class ClearAlertSchema(ma.Schema):
    note = ma.fields.String(
        required=True, metadata={"description": "What was checked and found (required)"}
    )


class ListArgs(sdk.PageArgs):
    status = ma.fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    loan_id = ma.fields.UUID(load_default=None)
    alert = ma.fields.Boolean(
        load_default=False, metadata={"description": "true: only orders with an alert (需核查)"}
    )


class ConnectorSchema(ma.Schema):
    key = ma.fields.String()
    label_zh = ma.fields.String()
    label_en = ma.fields.String()


def _require(permission: str) -> None:
    if not sdk.acting_user().can(permission):
        raise sdk.Forbidden(
            sdk.N_("You lack the permission %(permission)s."), params={"permission": permission}
        )


def _context() -> tuple[sdk.RecordAccess, sdk.Keyring]:
    _require("disbursement.view")
    return sdk.record_access("disbursement"), sdk.keyring()


def _idempotency_key() -> str | None:
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    key = raw.strip()
    if not 1 <= len(key) <= 100 or not key.isprintable():
        raise sdk.ValidationFailed(
            sdk.N_("Some fields need attention."),
            errors={"Idempotency-Key": [sdk.message(sdk.N_("Send 1 to 100 characters."))]},
        )
    return key


def callback_url(connector: str) -> str:
    return url_for("tenant.disbursement.callback", connector=connector, _external=True)


def _one(order: Any) -> dict[str, Any]:
    access, keys = sdk.record_access("disbursement"), sdk.keyring()
    shown = present_one(sdk.session(), order, access, keys)
    access.audit_shown(sdk.session())
    sdk.session().commit()
    return shown


@blp.route("")
class Orders(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, sdk.page_of(OrderSchema, "DisbursementPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Orders in the acting staff member's data scope, newest first; ``status``,
        ``loan_id`` and ``alert=true`` (needs checking) narrow them."""
        access, keys = _context()
        orders, total = list_orders(sdk.session(), access, **args)
        items = [present(o, access, keys) for o in orders]
        access.audit_shown(sdk.session())
        sdk.session().commit()
        return {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}

    @sdk.require_token("records:write")
    @blp.arguments(OrderCreateSchema)
    @blp.response(201, OrderSchema)
    @blp.alt_response(200, description="An Idempotency-Key used before: its order, unchanged")
    @blp.alt_response(422, description="A field is missing or wrong (named in errors); an "
                      "amount other than the principal")  # fmt: skip
    @blp.alt_response(409, description="The loan is not pending, has an open order, or may "
                      "not be paid out yet: errors.loan_id lists every reason")  # fmt: skip
    def post(self, args: dict[str, Any]) -> Any:
        """Request the payout of a pending loan (the acting staff member is the requester,
        申请人). Send an ``Idempotency-Key`` header: the same key again answers 200 with the
        order it created (and ``Idempotent-Replayed: true``)."""
        _require("disbursement.request")
        order, created = service.request_order(
            sdk.session(), args, user_id=sdk.acting_user().id, keys=sdk.keyring(),
            idempotency_key=_idempotency_key(),
        )  # fmt: skip
        body = _one(order)
        return (body, 201) if created else (body, 200, {"Idempotent-Replayed": "true"})


@blp.route("/connectors")
class Connectors(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, ConnectorSchema(many=True))
    def get(self) -> list[Any]:
        """The payout channels the tenant has enabled."""
        return list(sdk.payout_connectors().values())


@blp.route("/<uuid:order_id>")
class OrderById(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, OrderSchema)
    def get(self, order_id: uuid.UUID) -> dict[str, Any]:
        """One order with its split between funders (404 outside the data scope)."""
        access, _ = _context()
        return _one(find(sdk.session(), access, order_id))


def _acted(order_id: uuid.UUID, permission: str) -> Any:
    access, _ = _context()
    _require(permission)
    return find(sdk.session(), access, order_id)


@blp.route("/<uuid:order_id>/approve")
class Approve(MethodView):
    @sdk.require_token("records:write")
    @blp.response(200, OrderSchema)
    @blp.alt_response(403, description="The acting staff member requested this order")
    @blp.alt_response(409, description="The order is not waiting for review")
    def post(self, order_id: uuid.UUID) -> dict[str, Any]:
        """The checker (复核人) approves: never the one who requested it."""
        order = _acted(order_id, "disbursement.approve")
        return _one(service.approve(sdk.session(), order.id, user_id=sdk.acting_user().id))


@blp.route("/<uuid:order_id>/reject")
class Reject(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(RejectSchema)
    @blp.response(200, OrderSchema)
    @blp.alt_response(403, description="The acting staff member requested this order")
    def post(self, args: dict[str, Any], order_id: uuid.UUID) -> dict[str, Any]:
        """The checker rejects, with a reason."""
        order = _acted(order_id, "disbursement.approve")
        rejected = service.reject(
            sdk.session(), order.id, user_id=sdk.acting_user().id, reason=args["reason"]
        )
        return _one(rejected)


@blp.route("/<uuid:order_id>/cancel")
class Cancel(MethodView):
    @sdk.require_token("records:write")
    @blp.response(200, OrderSchema)
    def post(self, order_id: uuid.UUID) -> dict[str, Any]:
        """Withdraw an order not yet paid out."""
        order = _acted(order_id, "disbursement.request")
        return _one(service.cancel(sdk.session(), order.id, user_id=sdk.acting_user().id))


@blp.route("/<uuid:order_id>/pay")
class Pay(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(PaySchema)
    @blp.response(200, OrderSchema)
    @blp.alt_response(
        409,
        description="Not approved, blocked (errors.loan_id), or the channel did not answer "
        "(send again: the channel pays once per order attempt)",
    )
    def post(self, args: dict[str, Any], order_id: uuid.UUID) -> dict[str, Any]:
        """Pay an approved order through a payout channel. Send an ``Idempotency-Key``: the
        same key again answers with the order as it is and pays nothing. The answer's
        ``status`` is ``paid``, ``failed`` or ``paying`` (the channel will call back)."""
        order = _acted(order_id, "disbursement.pay")
        paid = payout.pay(
            sdk.session(), order.id, user_id=sdk.acting_user().id,
            connector_key=args["connector"], keys=sdk.keyring(),
            callback_url=callback_url, idempotency_key=_idempotency_key(),
        )  # fmt: skip
        return _one(paid)


@blp.route("/<uuid:order_id>/mark-paid")
class MarkPaid(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(MarkPaidSchema)
    @blp.response(200, OrderSchema)
    @blp.alt_response(422, description="bank_reference or paid_on missing or wrong")
    def post(self, args: dict[str, Any], order_id: uuid.UUID) -> dict[str, Any]:
        """Record a payout made outside LoanDesk: the bank's reference and the day the money
        left, from which the loan's schedule starts."""
        order = _acted(order_id, "disbursement.pay")
        paid = payout.mark_paid(
            sdk.session(), order.id, user_id=sdk.acting_user().id,
            bank_reference=args["bank_reference"], paid_on=args["paid_on"],
        )  # fmt: skip
        return _one(paid)


@blp.route("/<uuid:order_id>/query")
class Query(MethodView):
    @sdk.require_token("records:write")
    @blp.response(200, OrderSchema)
    @blp.alt_response(
        409,
        description="The order is not paying, its channel cannot be asked, or did not answer",
    )
    def post(self, order_id: uuid.UUID) -> dict[str, Any]:
        """Ask the payout channel what became of a ``paying`` order's payout (a channel that
        never called back); its answer is applied as a callback's: ``paid``, ``failed``, or
        still ``paying``. LoanDesk also asks by itself every 10 minutes."""
        order = _acted(order_id, "disbursement.pay")
        return _one(payout.ask_provider(sdk.session(), order.id))


@blp.route("/<uuid:order_id>/alert/clear")
class ClearAlert(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(ClearAlertSchema)
    @blp.response(200, OrderSchema)
    @blp.alt_response(409, description="The order has no alert")
    @blp.alt_response(422, description="No note")
    def post(self, args: dict[str, Any], order_id: uuid.UUID) -> dict[str, Any]:
        """Clear the order's alert after checking it with the channel and the bank, saying
        what was found (``note``, kept in the audit with the alert). Needs
        ``disbursement.approve``."""
        order = _acted(order_id, "disbursement.approve")
        cleared = alerts.clear_alert(
            sdk.session(), order.id, user_id=sdk.acting_user().id, note=args["note"]
        )
        return _one(cleared)
