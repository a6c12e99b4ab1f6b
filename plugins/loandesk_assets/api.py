"""``/api/v1/assets``: loans' five-tier classes (五级分类) and their overrides, provisions
(拨备), write-off requests (核销) with maker-checker, and the litigation dossier (诉讼材料包)
of a loan, as the staff member the API client acts for may see and handle them (their data
scope over loans). Amounts are strings (``"1234.50"``)."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate
from sqlalchemy import select

from loandesk import sdk
from loandesk_assets import classify, dossier, provisions, write_offs
from loandesk_assets.models import CLASS_CODES, WRITE_OFF_STATUSES, WriteOff
from loandesk_assets.scope import loan_in_scope, scoped

blp = Blueprint(
    "assets",
    __name__,
    url_prefix="/assets",
    description="Asset preservation (资产保全): five-tier classes from days past due with "
    "overrides, provisions per class, write-offs asked by one person and approved by "
    "another, recoveries after them, and a loan's litigation dossier (PDF, Excel or ZIP).",
)
CLASSES = ", ".join(CLASS_CODES)


class ClassChangeSchema(ma.Schema):
    changed_on = ma.fields.Date()
    from_class = ma.fields.String(allow_none=True)
    to_class = ma.fields.String()
    cause = ma.fields.String(metadata={"description": "dpd, override or override_cleared"})
    days_past_due = ma.fields.Integer()
    reason = ma.fields.String(allow_none=True)
    changed_by_id = ma.fields.UUID(allow_none=True)


class LoanClassSchema(ma.Schema):
    loan_id = ma.fields.UUID()
    loan_number = ma.fields.String()
    loan_status = ma.fields.String()
    days_past_due = ma.fields.Integer()
    loan_class = ma.fields.String(metadata={"description": f"in force: {CLASSES}"})
    dpd_class = ma.fields.String(metadata={"description": "what the days past due give"})
    override_class = ma.fields.String(allow_none=True)
    override_reason = ma.fields.String(allow_none=True)
    principal_outstanding = ma.fields.Decimal(as_string=True, places=2)
    history = ma.fields.List(
        ma.fields.Nested(ClassChangeSchema), metadata={"description": "newest first"}
    )


class ClassOverrideSchema(ma.Schema):
    loan_class = ma.fields.String(required=True, validate=validate.OneOf(CLASS_CODES))
    reason = ma.fields.String(required=True, metadata={"description": "Why (kept in the audit)"})


class ClearOverrideSchema(ma.Schema):
    reason = ma.fields.String(required=True)


class ProvisionSchema(ma.Schema):
    loan_class = ma.fields.String()
    loans = ma.fields.Integer()
    principal_outstanding = ma.fields.Decimal(as_string=True, places=2)
    rate = ma.fields.Decimal(as_string=True, metadata={"description": "0.25 is 25%"})
    provision = ma.fields.Decimal(as_string=True, places=2)


class ProvisionsSchema(ma.Schema):
    lines = ma.fields.List(ma.fields.Nested(ProvisionSchema))
    principal_outstanding = ma.fields.Decimal(as_string=True, places=2)
    provision = ma.fields.Decimal(as_string=True, places=2)


class ClassifyAllSchema(ma.Schema):
    job_id = ma.fields.String(metadata={"description": "The queued job (assets.classify_all)"})


class WriteOffSchema(ma.Schema):
    id = ma.fields.UUID()
    loan_id = ma.fields.UUID()
    loan_number = ma.fields.String()
    status = ma.fields.String(metadata={"description": ", ".join(WRITE_OFF_STATUSES)})
    reason = ma.fields.String()
    requested_by_id = ma.fields.UUID()
    requested_at = ma.fields.DateTime()
    reviewed_by_id = ma.fields.UUID(allow_none=True)
    reviewed_at = ma.fields.DateTime(allow_none=True)
    review_note = ma.fields.String(allow_none=True)
    written_off_on = ma.fields.Date(allow_none=True)
    principal = ma.fields.Decimal(as_string=True, places=2)
    interest = ma.fields.Decimal(as_string=True, places=2)
    fees = ma.fields.Decimal(as_string=True, places=2)
    penalty = ma.fields.Decimal(as_string=True, places=2)
    total = ma.fields.Decimal(as_string=True, places=2)
    recovered = ma.fields.Decimal(as_string=True, places=2)


class WriteOffCreateSchema(ma.Schema):
    loan_id = ma.fields.UUID(required=True)
    reason = ma.fields.String(required=True)


class WriteOffNoteSchema(ma.Schema):
    note = ma.fields.String(load_default=None)


class WriteOffListArgs(sdk.PageArgs):
    status = ma.fields.String(load_default=None, validate=validate.OneOf(WRITE_OFF_STATUSES))


class DossierFormatArgs(ma.Schema):
    format = ma.fields.String(load_default="pdf", validate=validate.OneOf(("pdf", "xlsx", "zip")))


def _require(permission: str) -> Any:
    user = sdk.acting_user()
    if not user.can(permission):
        raise sdk.Forbidden(
            sdk.N_("You lack the permission %(permission)s."), params={"permission": permission}
        )
    return user


def _loan(loan_id: uuid.UUID) -> sdk.LoanSummary:
    return loan_in_scope(sdk.loan_book().get(sdk.session(), loan_id))


def class_body(loan: sdk.LoanSummary) -> dict[str, Any]:
    session = sdk.session()
    row = classify.get_row(session, loan.id)
    by_dpd = classify.settings.class_for(loan.days_past_due, classify.settings.limits())
    return {
        "loan_id": loan.id,
        "loan_number": loan.number,
        "loan_status": loan.status,
        "days_past_due": loan.days_past_due,
        "loan_class": row.loan_class if row else by_dpd,
        "dpd_class": row.dpd_class if row else by_dpd,
        "override_class": row.override_class if row else None,
        "override_reason": row.override_reason if row else None,
        "principal_outstanding": row.principal_outstanding if row else None,
        "history": classify.history(session, loan.id),
    }


def _write_off(write_off_id: uuid.UUID, *, lock: bool = False) -> WriteOff:
    row = write_offs.get(sdk.session(), write_off_id)
    if not sdk.record_access("loan").reaches(row):
        raise sdk.NotFound(sdk.N_("No such write-off request."))
    return row


@blp.route("/loans/<uuid:loan_id>/class")
class LoanClassView(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, LoanClassSchema)
    def get(self, loan_id: uuid.UUID) -> dict[str, Any]:
        """The loan's class in force, what its days past due give, its override, its history."""
        _require("assets.view")
        return class_body(_loan(loan_id))


@blp.route("/loans/<uuid:loan_id>/class/override")
class OverrideView(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(ClassOverrideSchema)
    @blp.response(200, LoanClassSchema)
    @blp.alt_response(409, description="The loan is not active")
    def put(self, args: dict[str, Any], loan_id: uuid.UUID) -> dict[str, Any]:
        """Set the loan's class, with a reason: it wins over days past due until cleared."""
        user = _require("assets.classify")
        loan = _loan(loan_id)
        classify.override(
            sdk.session(), loan.id, args["loan_class"], args["reason"], user_id=user.id
        )
        body = class_body(loan)
        sdk.session().commit()
        return body


@blp.route("/loans/<uuid:loan_id>/class/override/clear")
class ClearOverrideView(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(ClearOverrideSchema)
    @blp.response(200, LoanClassSchema)
    @blp.alt_response(409, description="The loan's class is not overridden")
    def post(self, args: dict[str, Any], loan_id: uuid.UUID) -> dict[str, Any]:
        """Lift the override, with a reason: the class is again its days past due's."""
        user = _require("assets.classify")
        loan = _loan(loan_id)
        classify.clear_override(sdk.session(), loan.id, args["reason"], user_id=user.id)
        body = class_body(loan)
        sdk.session().commit()
        return body


@blp.route("/provisions")
class ProvisionsView(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, ProvisionsSchema)
    def get(self) -> dict[str, Any]:
        """Per class, the active loans in the viewer's scope, their principal outstanding, the
        tenant's provision rate and the provision; and the totals."""
        _require("assets.view")
        lines = provisions.provisions(sdk.session(), sdk.record_access("loan"))
        return {
            "lines": lines,
            "principal_outstanding": sum(line.principal_outstanding for line in lines),
            "provision": sum(line.provision for line in lines),
        }


@blp.route("/classify-all")
class ClassifyAll(MethodView):
    @sdk.require_token("records:write")
    @blp.response(202, ClassifyAllSchema)
    def post(self) -> dict[str, Any]:
        """Queue the classification of every active loan as it stands (a firm that enabled the
        plugin after loans were paid out, or after the DPD limits changed): the job
        ``assets.classify_all`` takes them in chunks; running it again changes nothing."""
        _require("assets.classify")
        return {"job_id": sdk.enqueue(classify.CLASSIFY_ALL_JOB, sdk.current().id)}


@blp.route("/write-offs")
class WriteOffs(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(WriteOffListArgs, location="query")
    @blp.response(200, sdk.page_of(WriteOffSchema, "WriteOffPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Write-off requests in the viewer's scope, newest first; ``status`` narrows them."""
        _require("assets.view")
        query = scoped(select(WriteOff), WriteOff)
        if args["status"]:
            query = query.where(WriteOff.status == args["status"])
        items, total = write_offs.listing(
            sdk.session(), query, page=args["page"], per_page=args["per_page"]
        )
        return {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}

    @sdk.require_token("records:write")
    @blp.arguments(WriteOffCreateSchema)
    @blp.response(201, WriteOffSchema)
    @blp.alt_response(409, description="The loan is not active or has an open request")
    def post(self, args: dict[str, Any]) -> Any:
        """Ask for an active loan to be written off (the acting staff member is the maker)."""
        user = _require("assets.write_off_request")
        loan = _loan(args["loan_id"])
        row = write_offs.request(sdk.session(), loan.id, args["reason"], user_id=user.id)
        sdk.session().commit()
        return row


@blp.route("/write-offs/<uuid:write_off_id>")
class WriteOffView(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, WriteOffSchema)
    def get(self, write_off_id: uuid.UUID) -> WriteOff:
        """One write-off request, with what was written off and recovered."""
        _require("assets.view")
        return _write_off(write_off_id)


@blp.route("/write-offs/<uuid:write_off_id>/approve")
class ApproveView(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(WriteOffNoteSchema)
    @blp.response(200, WriteOffSchema)
    @blp.alt_response(403, description="The maker, a collector, or no permission")
    @blp.alt_response(409, description="Reviewed already, or the loan is no longer active")
    def post(self, args: dict[str, Any], write_off_id: uuid.UUID) -> WriteOff:
        """The checker approves: the loan is written off today (never by the maker)."""
        user = _require("assets.write_off_approve")
        _write_off(write_off_id)
        row = write_offs.approve(sdk.session(), write_off_id, reviewer=user, note=args["note"])
        sdk.session().commit()
        return row


@blp.route("/write-offs/<uuid:write_off_id>/reject")
class RejectView(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(WriteOffNoteSchema)
    @blp.response(200, WriteOffSchema)
    def post(self, args: dict[str, Any], write_off_id: uuid.UUID) -> WriteOff:
        """The checker rejects, saying why in ``note``."""
        user = _require("assets.write_off_approve")
        _write_off(write_off_id)
        row = write_offs.reject(sdk.session(), write_off_id, args["note"], reviewer=user)
        sdk.session().commit()
        return row


@blp.route("/write-offs/<uuid:write_off_id>/cancel")
class CancelView(MethodView):
    @sdk.require_token("records:write")
    @blp.response(200, WriteOffSchema)
    def post(self, write_off_id: uuid.UUID) -> WriteOff:
        """The maker withdraws a request not yet reviewed."""
        user = _require("assets.write_off_request")
        _write_off(write_off_id)
        row = write_offs.cancel(sdk.session(), write_off_id, user_id=user.id)
        sdk.session().commit()
        return row


@blp.route("/loans/<uuid:loan_id>/dossier")
class DossierView(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(DossierFormatArgs, location="query")
    @blp.response(200, description="The file (application/pdf, .xlsx or application/zip)")
    def get(self, args: dict[str, Any], loan_id: uuid.UUID) -> Response:
        """The loan's litigation dossier: ``format`` pdf (default), xlsx or zip (both, with the
        contributed files). The export is audited."""
        _require("assets.dossier")
        loan = _loan(loan_id)
        name, content_type, data = dossier.export(sdk.session(), loan, args["format"])
        sdk.session().commit()
        return file_response(name, content_type, data)


def file_response(name: str, content_type: str, data: bytes) -> Response:
    from urllib.parse import quote

    ascii_name = name.encode("ascii", "ignore").decode() or "dossier"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(data, mimetype=content_type, headers={"Content-Disposition": disposition})
