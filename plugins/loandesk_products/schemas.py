"""Marshmallow schemas of the products API. Amounts and rates are strings (``"50000.00"``,
``"0.12"`` for 12% a year), never JSON numbers; rates and percentages are fractions."""

from __future__ import annotations

import marshmallow as ma

from loandesk import sdk

F = ma.fields


def _choices(enum: type) -> str:
    return ", ".join(str(e.value) for e in enum)  # type: ignore[attr-defined]


class FeeSchema(ma.Schema):
    code = F.String(metadata={"description": "Names the fee in the ledger: service_fee"})
    kind = F.String(metadata={"description": _choices(sdk.finance.FeeKind)})
    basis = F.String(metadata={"description": _choices(sdk.finance.FeeBasis)})
    value = F.String(
        metadata={"description": "fixed: an amount (\"200.00\"); percent: a fraction of the "
                  "principal (\"0.02\")"}
    )  # fmt: skip
    deducted = F.Boolean(metadata={"description": "An upfront fee kept out of the money paid out"})


class RoundingSchema(ma.Schema):
    installment = F.String(metadata={"description": _choices(sdk.finance.InstallmentRounding)})
    interest_on_rounded_balance = F.Boolean()
    remainder = F.String(metadata={"description": _choices(sdk.finance.Remainder)})
    adjust_last = F.Boolean()


class PenaltySchema(ma.Schema):
    annual_rate = F.String(metadata={"description": "Penalty interest (罚息) a year, a fraction"})
    base = F.String(metadata={"description": _choices(sdk.finance.PenaltyBase)})
    grace_days = F.Integer(metadata={"description": "Grace days (宽限期), 0-90"})


class EarlyRepaymentSchema(ma.Schema):
    allowed = F.Boolean()
    fee_percent = F.String(metadata={"description": "Of the principal repaid early, a fraction"})
    min_periods_paid = F.Integer()
    recalculations = F.List(
        F.String(), metadata={"description": _choices(sdk.finance.Recalculation)}
    )


class TermsSchema(ma.Schema):
    """A product version's terms; the same shape is written under ``terms``."""

    min_amount = F.String(required=True)
    max_amount = F.String(required=True)
    min_periods = F.Integer(required=True, metadata={"description": "1-360"})
    max_periods = F.Integer(required=True)
    annual_rate = F.String(
        required=True, metadata={"description": 'Nominal annual rate, a fraction: "0.12"'}
    )
    frequency = F.String(required=True, metadata={"description": _choices(sdk.finance.Frequency)})
    method = F.String(required=True, metadata={"description": _choices(sdk.finance.Method)})
    day_count = F.String(metadata={"description": _choices(sdk.finance.DayCount)})
    first_period = F.String(metadata={"description": _choices(sdk.finance.FirstPeriod)})
    due_day = F.Integer(
        allow_none=True, metadata={"description": "1-28; needed with a broken first period"}
    )
    interest_only_periods = F.Integer(
        allow_none=True, metadata={"description": "interest_first: periods before amortising"}
    )
    fees = F.List(F.Nested(FeeSchema))
    rounding = F.Nested(RoundingSchema)
    date_roll = F.String(metadata={"description": _choices(sdk.finance.DateRoll)})
    penalty = F.Nested(PenaltySchema, allow_none=True)
    allocation_order = F.List(
        F.String(), metadata={"description": "A permutation of " + _choices(sdk.finance.Part)}
    )
    early_repayment = F.Nested(EarlyRepaymentSchema)
    tranches_allowed = F.Boolean()


class CatalogProductSchema(ma.Schema):
    id = F.UUID()
    code = F.String()
    name = F.String()
    active = F.Boolean(metadata={"description": "Offered to new loans"})
    latest_version = F.Integer(metadata={"description": "The version in force"})
    created_at = F.DateTime()
    updated_at = F.DateTime()


class ProductVersionSummarySchema(ma.Schema):
    number = F.Integer()
    name = F.String()
    note = F.String()
    created_at = F.DateTime()
    created_by_id = F.UUID(allow_none=True)


class ProductVersionSchema(ProductVersionSummarySchema):
    terms = F.Nested(TermsSchema)
    changes = F.Dict(
        metadata={"description": "What changed from the version before: {path: [old, new]}"}
    )


class CatalogProductDetailSchema(CatalogProductSchema):
    terms = F.Nested(TermsSchema, metadata={"description": "The version in force"})
    versions = F.List(F.Nested(ProductVersionSummarySchema))


class CatalogProductWriteSchema(ma.Schema):
    """Checked by the service: 422 naming each wrong field by its path (``fees.0.value``)."""

    class Meta:
        unknown = ma.EXCLUDE

    code = F.Raw(metadata={"description": "Unique per tenant: 1-20 letters, digits, - and _"})
    name = F.Raw(metadata={"description": "The product's name (1-100 characters)"})
    active = F.Raw(metadata={"description": "Offered to new loans (default true)"})
    note = F.Raw(metadata={"description": "Why this version (at most 200 characters)"})
    terms = F.Raw(metadata={"description": "The terms, shaped as TermsSchema"})


class ProductPatchSchema(ma.Schema):
    active = F.Raw(required=True, metadata={"description": "Offered to new loans"})


class ProductListArgs(sdk.PageArgs):
    active = F.Boolean(load_default=False, metadata={"description": "Only those offered"})


class PreviewSchema(ma.Schema):
    """A quote: a product and the loan's amount, periods and start, or explicit terms."""

    class Meta:
        unknown = ma.EXCLUDE

    product_id = F.Raw(metadata={"description": "Quote on this product (its ranges apply)"})
    version = F.Raw(metadata={"description": "Its version (default: the one in force)"})
    principal = F.Raw(required=True, metadata={"description": 'Amount lent: "50000.00"'})
    periods = F.Raw(required=True, metadata={"description": "Number of installments"})
    start_date = F.Raw(metadata={"description": "Disbursement date (default: today)"})
    annual_rate = F.Raw(metadata={"description": "Without a product: nominal rate, fraction"})
    frequency = F.Raw()
    method = F.Raw()
    day_count = F.Raw()
    first_period = F.Raw()
    due_day = F.Raw()
    interest_only_periods = F.Raw()
    fees = F.Raw(metadata={"description": "Without a product: a list shaped as FeeSchema"})
    rounding = F.Raw(metadata={"description": "Without a product: shaped as RoundingSchema"})
    date_roll = F.Raw()
    maturity_date = F.Raw(metadata={"description": "Frequency single: the one due date"})


class PreviewInstallmentSchema(ma.Schema):
    number = F.Integer()
    period_start = F.Date()
    due_date = F.Date()
    principal = F.Decimal(as_string=True, places=2)
    interest = F.Decimal(as_string=True, places=2)
    fees = F.Decimal(as_string=True, places=2)
    total = F.Decimal(as_string=True, places=2)
    balance = F.Decimal(as_string=True, places=2, metadata={"description": "Principal left"})


class TotalsSchema(ma.Schema):
    principal = F.Decimal(as_string=True, places=2)
    interest = F.Decimal(as_string=True, places=2)
    fees = F.Decimal(as_string=True, places=2)
    total = F.Decimal(as_string=True, places=2)
    upfront_fees = F.Decimal(as_string=True, places=2)
    disbursed = F.Decimal(
        as_string=True, places=2, metadata={"description": "Paid out: principal less deducted fees"}
    )


class QuoteSchema(ma.Schema):
    product_id = F.UUID(allow_none=True)
    version = F.Integer(allow_none=True)
    start_date = F.Date()
    installments = F.List(F.Nested(PreviewInstallmentSchema))
    totals = F.Nested(TotalsSchema)
    annual_rate_irr = F.String(
        metadata={"description": "年化利率 (IRR, every fee included), a fraction"}
    )
    apr = F.String(metadata={"description": "APR (Regulation Z Appendix J), a fraction"})
    effective_annual_rate = F.String(
        metadata={"description": "(1 + periodic IRR) ** periods a year - 1, a fraction"}
    )
    rate_cap = F.String(metadata={"description": "The tenant's cap, a fraction"})
