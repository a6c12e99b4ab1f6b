"""``/api/v1/contracts`` and ``/api/v1/contract-templates``: reading needs
``contracts.view``, making, sending and voiding ``contracts.manage``, templates
``contracts.templates``, each held by the staff member the API client acts for."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from loandesk import sdk
from loandesk_contracts import jobs, library, service, signing
from loandesk_contracts.schemas import (
    ContractCreateSchema,
    ContractListArgs,
    ContractSchema,
    ContractTemplateSchema,
    ContractTemplateWriteSchema,
    TemplatePreviewArgs,
    TemplatePreviewSchema,
    VoidSchema,
)

blp = Blueprint(
    "contracts",
    __name__,
    description="Loan contracts (借款合同): one per loan waiting for payout, numbered per "
    "tenant, rendered from the product's template to a PDF kept with its SHA-256, signed "
    "through the tenant's e-signature provider or the built-in click-to-sign. States: draft "
    "→ sent → signed, or void (with a reason) and expired (not signed by `expires_on`).",
)


@blp.route("/contracts")
class Contracts(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(ContractListArgs, location="query")
    @blp.response(200, sdk.page_of(ContractSchema, "ContractsPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The tenant's contracts, newest first (``status``: only those in it)."""
        sdk.acting_user_with("contracts.view")
        found = service.list_contracts(
            sdk.session(), status=args.get("status"), page=args["page"], per_page=args["per_page"]
        )
        return {"items": found.items, "page": args["page"], "per_page": args["per_page"],
                "total": found.total}  # fmt: skip

    @sdk.require_token("records:write")
    @blp.arguments(ContractCreateSchema)
    @blp.response(201, ContractSchema)
    @blp.alt_response(409, description="The loan is not pending or already has a contract")
    @blp.alt_response(422, description="No such loan (errors.loan_id)")
    def post(self, args: dict[str, Any]) -> Any:
        """Make the draft contract of a pending loan: rendered to PDF from the product's
        template (audited; event ``contract.created``)."""
        user = sdk.acting_user_with("contracts.manage")
        contract = service.create_contract(
            sdk.session(), args["loan_id"], user_id=user.id, today=jobs.local_today()
        )
        sdk.session().commit()
        return contract


@blp.route("/contracts/<uuid:contract_id>")
class ContractById(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, ContractSchema)
    def get(self, contract_id: uuid.UUID) -> Any:
        """One contract."""
        sdk.acting_user_with("contracts.view")
        return service.get_contract(sdk.session(), contract_id)


@blp.route("/contracts/<uuid:contract_id>/send")
class ContractSend(MethodView):
    @sdk.require_token("records:write")
    @blp.response(200, ContractSchema)
    @blp.alt_response(409, description="Not a draft")
    @blp.alt_response(422, description="The borrower has no mobile number (errors.mobile)")
    def post(self, contract_id: uuid.UUID) -> Any:
        """Send the draft for signing: the provider is asked and the borrower gets the link
        by SMS; it expires after the plugin's ``expiry_days`` (event ``contract.sent``)."""
        user = sdk.acting_user_with("contracts.manage")
        session = sdk.session()
        contract = service.get_contract(session, contract_id)
        signing.send(session, contract, user_id=user.id, today=jobs.local_today())
        session.commit()
        return contract


@blp.route("/contracts/<uuid:contract_id>/regenerate")
class ContractRegenerate(MethodView):
    @sdk.require_token("records:write")
    @blp.response(200, ContractSchema)
    @blp.alt_response(409, description="Not a draft: a sent or signed contract never changes")
    def post(self, contract_id: uuid.UUID) -> Any:
        """Render a draft again from the current template, letterhead and loan."""
        user = sdk.acting_user_with("contracts.manage")
        session = sdk.session()
        contract = service.get_contract(session, contract_id)
        service.regenerate(session, contract, user_id=user.id, today=jobs.local_today())
        session.commit()
        return contract


@blp.route("/contracts/<uuid:contract_id>/void")
class ContractVoid(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(VoidSchema)
    @blp.response(200, ContractSchema)
    @blp.alt_response(409, description="Already void")
    @blp.alt_response(422, description="No reason (errors.reason)")
    def post(self, args: dict[str, Any], contract_id: uuid.UUID) -> Any:
        """Void the contract with a reason, whatever its state (event ``contract.voided``);
        the loan may then get a new one."""
        user = sdk.acting_user_with("contracts.manage")
        session = sdk.session()
        contract = service.get_contract(session, contract_id)
        service.void(session, contract, reason=args["reason"], user_id=user.id)
        session.commit()
        return contract


@blp.route("/contracts/<uuid:contract_id>/pdf")
class ContractPdf(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, description="The PDF (application/pdf)")
    def get(self, contract_id: uuid.UUID) -> Any:
        """The rendered PDF, or with ``?signed=true`` the signed one (404 until signed)."""
        from flask import abort, request

        sdk.acting_user_with("contracts.view")
        contract = service.get_contract(sdk.session(), contract_id)
        signed = request.args.get("signed") in ("1", "true")
        wanted = contract.signed_pdf_id if signed else contract.pdf_id
        if wanted is None:
            abort(404)
        return sdk.send_attachment(wanted)


@blp.route("/contract-templates")
class Templates(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, ContractTemplateSchema(many=True))
    def get(self) -> Any:
        """The firm's saved templates (the default has an empty ``product_id``)."""
        sdk.acting_user_with("contracts.templates")
        return library.templates(sdk.session())


@blp.route("/contract-templates/<key>")
class TemplateByKey(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(ContractTemplateWriteSchema)
    @blp.response(200, ContractTemplateSchema)
    @blp.alt_response(422, description="The template fails on the sample loan (errors.body)")
    def put(self, args: dict[str, Any], key: str) -> Any:
        """Save the template of product ``key`` (its id), or ``default`` for the firm's
        default; it is checked by rendering it on the sample loan (audited)."""
        user = sdk.acting_user_with("contracts.templates")
        product_id = None if key == "default" else key
        row = library.save_template(
            sdk.session(), product_id=product_id, user_id=user.id, today=jobs.local_today(), **args
        )
        sdk.session().commit()
        return row


@blp.route("/contract-templates/preview")
class TemplatePreview(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(TemplatePreviewArgs)
    @blp.response(200, TemplatePreviewSchema)
    @blp.alt_response(422, description="The template fails (errors.body)")
    def post(self, args: dict[str, Any]) -> Any:
        """The template rendered on the sample loan, as HTML (nothing is saved)."""
        sdk.acting_user_with("contracts.templates")
        html = library.preview(sdk.session(), args["body"], args["css"], jobs.local_today())
        return {"html": service.with_style(html, args["css"])}
