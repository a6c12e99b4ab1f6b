"""Marshmallow schemas of ``/api/v1/contracts`` and ``/api/v1/contract-templates``."""

from __future__ import annotations

import marshmallow as ma

from loandesk import sdk
from loandesk_contracts.models import STATES


class ContractListArgs(sdk.PageArgs):
    status = ma.fields.String(
        validate=ma.validate.OneOf(STATES), metadata={"description": "Only contracts in it"}
    )


class ContractCreateSchema(ma.Schema):
    loan_id = ma.fields.UUID(
        required=True, metadata={"description": "A loan waiting for payout (pending)"}
    )


class VoidSchema(ma.Schema):
    reason = ma.fields.String(
        required=True, metadata={"description": "Why the contract is void (2-500 characters)"}
    )


class ContractSchema(ma.Schema):
    id = ma.fields.UUID()
    number = ma.fields.String(metadata={"description": "Per tenant: HT<year><6 digits>"})
    loan_id = ma.fields.UUID()
    loan_number = ma.fields.String()
    customer_id = ma.fields.UUID()
    borrower_name = ma.fields.String()
    product_name = ma.fields.String()
    principal = ma.fields.Decimal(as_string=True)
    periods = ma.fields.Integer()
    annual_rate_irr = ma.fields.Decimal(
        as_string=True, metadata={"description": "年化利率(IRR) with every fee, a fraction"}
    )
    apr = ma.fields.Decimal(as_string=True, metadata={"description": "APR, a fraction"})
    status = ma.fields.String(metadata={"description": "draft, sent, signed, void or expired"})
    pdf_sha256 = ma.fields.String(metadata={"description": "SHA-256 of the rendered PDF"})
    signed_pdf_sha256 = ma.fields.String(metadata={"description": "SHA-256 of the signed PDF"})
    provider = ma.fields.String(metadata={"description": "The e-signature provider's key"})
    provider_reference = ma.fields.String()
    expires_on = ma.fields.Date(
        allow_none=True, metadata={"description": "Last day to sign (tenant time)"}
    )
    sent_at = ma.fields.DateTime(allow_none=True)
    signed_at = ma.fields.DateTime(allow_none=True)
    voided_at = ma.fields.DateTime(allow_none=True)
    void_reason = ma.fields.String()
    expired_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


class ContractTemplateSchema(ma.Schema):
    product_id = ma.fields.String(
        attribute="product_key", metadata={"description": "The product's id; empty: the default"}
    )
    name = ma.fields.String()
    body = ma.fields.String(metadata={"description": "Jinja HTML, rendered in a sandbox"})
    css = ma.fields.String()
    updated_at = ma.fields.DateTime()


class ContractTemplateWriteSchema(ma.Schema):
    name = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    css = ma.fields.String(load_default="")


class TemplatePreviewArgs(ma.Schema):
    body = ma.fields.String(required=True)
    css = ma.fields.String(load_default="")


class TemplatePreviewSchema(ma.Schema):
    html = ma.fields.String(metadata={"description": "The template on the sample loan"})
