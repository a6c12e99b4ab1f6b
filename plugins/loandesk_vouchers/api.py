"""``/api/v1/vouchers``: the chart-of-accounts mapping (科目映射), vouchers (记账凭证) made from
the ledger, their export files and push to Kingdee, and the daily reconciliation (对账).
Thin adapters over ``mappings``, ``service``, ``exports``, ``push`` and ``reconciliation``."""

from __future__ import annotations

import io
import uuid
from typing import Any

import marshmallow as ma
from flask import send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loandesk import sdk
from loandesk_vouchers import exports, mappings, push, reconciliation, service
from loandesk_vouchers.kinds import ACCOUNTS, ALL_KINDS, KINDS
from loandesk_vouchers.models import AUX, STATES

blp = Blueprint(
    "vouchers",
    __name__,
    url_prefix="/vouchers",
    description="Vouchers (记账凭证) for Kingdee (金蝶) and Yonyou (用友) from the loan ledger.",
)

VIEW, MANAGE, MAP = "vouchers.view", "vouchers.manage", "vouchers.mappings"


def _require(permission: str) -> None:
    if not sdk.acting_user().can(permission):
        raise sdk.Forbidden(
            sdk.N_("You lack the permission %(permission)s."), params={"permission": permission}
        )


class AccountMappingSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    kind = ma.fields.String(
        required=True,
        validate=validate.OneOf((ALL_KINDS, *KINDS)),
        metadata={"description": "A voucher kind, or * for every kind without its own"},
    )
    account = ma.fields.String(
        required=True,
        validate=validate.OneOf(tuple(ACCOUNTS)),
        metadata={"description": "The loan ledger's account"},
    )
    subject_code = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "科目代码 in the finance system"},
    )
    subject_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    aux = ma.fields.String(
        load_default="none",
        validate=validate.OneOf(AUX),
        metadata={"description": "Auxiliary dimension (辅助核算)"},
    )
    updated_at = ma.fields.DateTime(dump_only=True)


class Amount(ma.fields.String):
    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else f"{value:.2f}"


class VoucherLineSchema(ma.Schema):
    seq = ma.fields.Integer()
    account = ma.fields.String()
    subject_code = ma.fields.String()
    subject_name = ma.fields.String()
    aux = ma.fields.String()
    aux_code = ma.fields.String()
    summary = ma.fields.String()
    debit = Amount()
    credit = Amount()


class VoucherSchema(ma.Schema):
    id = ma.fields.UUID()
    day = ma.fields.Date()
    kind = ma.fields.String()
    word = ma.fields.String()
    number = ma.fields.Integer()
    summary = ma.fields.String()
    total = Amount()
    state = ma.fields.String(metadata={"description": "draft, exported, pushed or push_failed"})
    error = ma.fields.String(allow_none=True)
    push_attempts = ma.fields.Integer()
    external_number = ma.fields.String(allow_none=True)
    exported_at = ma.fields.DateTime(allow_none=True)
    pushed_at = ma.fields.DateTime(allow_none=True)
    lines = ma.fields.List(ma.fields.Nested(VoucherLineSchema))


class VoucherListArgs(sdk.PageArgs):
    day = ma.fields.Date(load_default=None)
    state = ma.fields.String(load_default=None, validate=validate.OneOf(STATES))


class DaySchema(ma.Schema):
    day = ma.fields.Date(required=True)


class GeneratedSchema(ma.Schema):
    created = ma.fields.Integer()
    rebuilt = ma.fields.Integer()
    unchanged = ma.fields.Integer()
    kept = ma.fields.Integer(metadata={"description": "Exported or pushed: left as they are"})
    removed = ma.fields.Integer()


class ExportSchema(DaySchema):
    format = ma.fields.String(required=True, validate=validate.OneOf(exports.FORMATS))


class PushSchema(ma.Schema):
    day = ma.fields.Date(load_default=None)
    voucher_ids = ma.fields.List(ma.fields.UUID(), load_default=None)


class QueuedSchema(ma.Schema):
    job_id = ma.fields.String(allow_none=True)
    vouchers = ma.fields.Integer()


class ReconciliationRowSchema(ma.Schema):
    kind = ma.fields.String()
    account = ma.fields.String()
    subject_code = ma.fields.String()
    ledger = Amount()
    vouchers = Amount()
    sent = Amount()
    sent_state = ma.fields.String()
    voucher_differs = ma.fields.Boolean()
    sent_differs = ma.fields.Boolean()
    matches = ma.fields.Boolean()


class ReconciliationSchema(ma.Schema):
    day = ma.fields.Date()
    matches = ma.fields.Boolean()
    rows = ma.fields.List(ma.fields.Nested(ReconciliationRowSchema))


def _present(voucher: Any) -> dict[str, Any]:
    data = {key: getattr(voucher, key) for key in VoucherSchema._declared_fields if key != "lines"}
    data["lines"] = service.lines_of(sdk.session(), voucher)
    return data


@blp.route("/mappings")
class Mappings(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(sdk.PageArgs, location="query")
    @blp.response(200, sdk.page_of(AccountMappingSchema, "VoucherMappingPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The tenant's chart-of-accounts mapping (科目映射), by kind and account."""
        _require(VIEW)
        found = mappings.all_mappings(sdk.session())
        page, per_page = args["page"], args["per_page"]
        items = found[(page - 1) * per_page : page * per_page]
        return {"items": items, "page": page, "per_page": per_page, "total": len(found)}

    @sdk.require_token("records:write")
    @blp.arguments(AccountMappingSchema)
    @blp.response(201, AccountMappingSchema)
    @blp.alt_response(409, description="This kind and account are mapped already")
    def post(self, args: dict[str, Any]) -> Any:
        """Map a ledger account, for one voucher kind or every kind (``*``); audited."""
        _require(MAP)
        session = sdk.session()
        row = mappings.save(session, args)
        session.commit()
        return row


@blp.route("/mappings/<uuid:mapping_id>")
class Mapping(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(AccountMappingSchema)
    @blp.response(200, AccountMappingSchema)
    @blp.alt_response(404, description="No such mapping")
    def put(self, args: dict[str, Any], mapping_id: uuid.UUID) -> Any:
        """Change a mapping; vouchers already made keep their lines until made again."""
        _require(MAP)
        session = sdk.session()
        row = mappings.save(session, args, mapping_id)
        session.commit()
        return row

    @sdk.require_token("records:write")
    @blp.response(204)
    @blp.alt_response(404, description="No such mapping")
    def delete(self, mapping_id: uuid.UUID) -> None:
        """Remove a mapping; audited."""
        _require(MAP)
        session = sdk.session()
        mappings.remove(session, mapping_id)
        session.commit()


@blp.route("")
class Vouchers(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(VoucherListArgs, location="query")
    @blp.response(200, sdk.page_of(VoucherSchema, "VoucherPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Vouchers, newest day first, with their lines; narrowed to a day or a state."""
        _require(VIEW)
        page, per_page = args["page"], args["per_page"]
        found, total = service.vouchers_of(
            sdk.session(),
            day=args["day"],
            state=args["state"],
            offset=(page - 1) * per_page,
            limit=per_page,
        )
        return {
            "items": [_present(v) for v in found],
            "page": page,
            "per_page": per_page,
            "total": total,
        }


@blp.route("/<uuid:voucher_id>")
class VoucherOne(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, VoucherSchema)
    @blp.alt_response(404, description="No such voucher")
    def get(self, voucher_id: uuid.UUID) -> dict[str, Any]:
        """One voucher with its lines."""
        _require(VIEW)
        return _present(service.get(sdk.session(), voucher_id))


@blp.route("/generate")
class Generate(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(DaySchema)
    @blp.response(200, GeneratedSchema)
    @blp.alt_response(
        422,
        description="day: not ended yet; mapping: the kinds/accounts to map "
        "first (nothing is made)",
    )
    def post(self, args: dict[str, Any]) -> Any:
        """Make the day's vouchers from the ledger (one per kind). Idempotent: running a day
        again rebuilds drafts whose ledger moved and leaves exported and pushed ones."""
        _require(MANAGE)
        session = sdk.session()
        done = service.generate(session, args["day"])
        session.commit()
        return done


@blp.route("/exports")
class Export(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(ExportSchema)
    @blp.response(200, description="The file: Kingdee KIS Excel (.xlsx) or U8 text (.txt)")
    @blp.alt_response(404, description="No vouchers for that day")
    def post(self, args: dict[str, Any]) -> Any:
        """Download the day's vouchers as the finance system's import file; they are marked
        exported (what was sent is kept for reconciliation)."""
        _require(MANAGE)
        session = sdk.session()
        found, _ = service.vouchers_of(session, day=args["day"])
        content, name, mimetype = exports.export(session, found, args["format"])
        session.commit()
        return send_file(
            io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=name
        )


@blp.route("/push")
class Push(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(PushSchema)
    @blp.response(202, QueuedSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Push a day's vouchers (or those named) to Kingdee Cloud 星空 in a job; each
        voucher's state and error show on it. Pushed ones are not sent again."""
        _require(MANAGE)
        if args["day"] is None and not args["voucher_ids"]:
            raise sdk.ValidationFailed(
                sdk.N_("Some fields need attention."),
                errors={"day": [sdk.message(sdk.N_("Enter a value."))]},
            )
        found, _ = service.vouchers_of(sdk.session(), day=args["day"], ids=args["voucher_ids"])
        job_id = push.queue(found)
        waiting = sum(1 for v in found if v.state in push.PUSHABLE)
        return {"job_id": job_id, "vouchers": waiting}


@blp.route("/<uuid:voucher_id>/retry")
class Retry(MethodView):
    @sdk.require_token("records:write")
    @blp.response(202, QueuedSchema)
    @blp.alt_response(404, description="No such voucher")
    @blp.alt_response(409, description="Pushed already")
    def post(self, voucher_id: uuid.UUID) -> dict[str, Any]:
        """Push one voucher again (after a failed push)."""
        _require(MANAGE)
        voucher = service.get(sdk.session(), voucher_id)
        if voucher.state == "pushed":
            raise sdk.Conflict(sdk.N_("This voucher is in Kingdee already."))
        return {"job_id": push.queue([voucher]), "vouchers": 1}


@blp.route("/reconciliation")
class Reconciliation(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(DaySchema, location="query")
    @blp.response(200, ReconciliationSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The day's ledger against its vouchers and what was exported or pushed, per kind
        and ledger account; ``matches`` false when any row differs."""
        _require(VIEW)
        rows = reconciliation.reconcile(sdk.session(), args["day"])
        return {"day": args["day"], "matches": all(r.matches for r in rows), "rows": rows}
