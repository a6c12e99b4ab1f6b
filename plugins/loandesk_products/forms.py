"""The product editor's form and the calculator's, to and from the terms' JSON shape. A
form field is named by its path in the terms with ``-`` for ``.`` (``penalty-grace_days``,
``fees-0-value``), so a problem the service names by path lands next to its field. Rates
and percentages are typed as percentages (``24``) and kept as fractions (``0.24``)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.datastructures import MultiDict

from loandesk.sdk import N_, finance

MAX_FEES = 10
PERCENT_PATHS = ("annual_rate", "penalty-annual_rate", "early_repayment-fee_percent")

# (value, English label) of each choice; the English is the msgid of the Chinese label
METHODS = (
    ("equal_installment", N_("Equal installment (annuity)")),
    ("equal_principal", N_("Equal principal")),
    ("interest_first", N_("Interest first, principal at the end")),
    ("flat", N_("Flat interest")),
    ("single_payment", N_("Single payment")),
)
FREQUENCIES = (
    ("monthly", N_("Monthly")),
    ("biweekly", N_("Every two weeks")),
    ("weekly", N_("Weekly")),
    ("semimonthly", N_("Twice a month")),
    ("quarterly", N_("Quarterly")),
    ("single", N_("Once (single payment)")),
)
DAY_COUNTS = (("30/360", "30/360"), ("actual/365", "actual/365"), ("actual/360", "actual/360"))
FIRST_PERIODS = (
    ("full", N_("A full period")),
    ("broken", N_("Broken: runs to the due day")),
)
DATE_ROLLS = (
    ("none", N_("Keep the date")),
    ("following", N_("Next working day")),
    ("preceding", N_("Working day before")),
    ("modified_following", N_("Next working day, unless in the next month")),
)
INSTALLMENT_ROUNDINGS = (
    ("cent_half_up", N_("To the cent, half up")),
    ("cent_half_even", N_("To the cent, half even")),
    ("yuan", N_("To the whole yuan")),
    ("cent_up", N_("Always up to the cent")),
)
REMAINDERS = (("last", N_("In the last installment")), ("spread", N_("Spread over the first")))
FEE_KINDS = (("upfront", N_("Upfront")), ("per_installment", N_("Per installment")))
FEE_BASES = (("percent", N_("Percent of principal")), ("fixed", N_("Fixed amount")))
PENALTY_BASES = (
    ("overdue_principal", N_("Overdue principal")),
    ("overdue_principal_and_interest", N_("Overdue principal and interest")),
)
PARTS = (
    ("penalty", N_("Penalty interest")),
    ("fees", N_("Fees")),
    ("interest", N_("Interest")),
    ("principal", N_("Principal")),
)
RECALCULATIONS = (
    ("shorten_term", N_("Shorten the term")),
    ("lower_installment", N_("Lower the installment")),
)


def _fraction(text: str) -> str:
    """A typed percentage as a fraction's text; what cannot be read goes on as typed, for
    the service to name."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    return format(value / 100, "f") if value.is_finite() else text


def _percent(fraction: Any) -> str:
    if fraction in (None, ""):
        return ""
    value = (Decimal(str(fraction)) * 100).normalize()
    return format(value, "f")


def _text(form: MultiDict[str, str], name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def fee_rows(form: MultiDict[str, str]) -> list[int]:
    """The form rows that hold a fee (blank rows are left out of the terms)."""
    return [
        i
        for i in range(MAX_FEES)
        if _text(form, f"fees-{i}-code") is not None or _text(form, f"fees-{i}-value") is not None
    ]


def fees_from(form: MultiDict[str, str]) -> list[dict[str, Any]]:
    fees = []
    for i in fee_rows(form):
        code, value = _text(form, f"fees-{i}-code"), _text(form, f"fees-{i}-value")
        basis = form.get(f"fees-{i}-basis", "")
        fees.append(
            {
                "code": code or "",
                "kind": form.get(f"fees-{i}-kind", ""),
                "basis": basis,
                "value": _fraction(value) if value and basis == "percent" else value,
                "deducted": form.get(f"fees-{i}-deducted") == "on",
            }
        )
    return fees


def schedule_terms_from(form: MultiDict[str, str]) -> dict[str, Any]:
    """What a loan's schedule takes (the calculator's explicit terms)."""
    rate = _text(form, "annual_rate")
    return {
        "annual_rate": _fraction(rate) if rate else None,
        "method": form.get("method", ""),
        "frequency": form.get("frequency", ""),
        "day_count": form.get("day_count") or None,
        "first_period": form.get("first_period") or None,
        "due_day": _text(form, "due_day"),
        "interest_only_periods": _text(form, "interest_only_periods"),
        "date_roll": form.get("date_roll") or None,
        "maturity_date": _text(form, "maturity_date"),
        "fees": fees_from(form),
        "rounding": {
            "installment": form.get("rounding-installment") or None,
            "interest_on_rounded_balance": form.get("rounding-interest_on_rounded_balance") == "on",
            "remainder": form.get("rounding-remainder") or None,
            "adjust_last": form.get("rounding-adjust_last") == "on",
        },
    }


def terms_from(form: MultiDict[str, str]) -> dict[str, Any]:
    """The editor's fields as the terms' JSON shape (what the service checks)."""
    penalty_rate = _text(form, "penalty-annual_rate")
    early_fee = _text(form, "early_repayment-fee_percent") or "0"
    loan_only = ("maturity_date",)  # a product's loans run periods, not to a date
    return {
        **{k: v for k, v in schedule_terms_from(form).items() if k not in loan_only},
        "min_amount": _text(form, "min_amount"),
        "max_amount": _text(form, "max_amount"),
        "min_periods": _text(form, "min_periods"),
        "max_periods": _text(form, "max_periods"),
        "penalty": None
        if penalty_rate is None
        else {
            "annual_rate": _fraction(penalty_rate),
            "base": form.get("penalty-base", ""),
            "grace_days": _text(form, "penalty-grace_days") or "0",
        },
        "allocation_order": [form.get(f"allocation_order-{i}", "") for i in range(4)],
        "early_repayment": {
            "allowed": form.get("early_repayment-allowed") == "on",
            "fee_percent": _fraction(early_fee),
            "min_periods_paid": _text(form, "early_repayment-min_periods_paid") or "0",
            "recalculations": form.getlist("early_repayment-recalculations"),
        },
        "tranches_allowed": form.get("tranches_allowed") == "on",
    }


def product_from(form: MultiDict[str, str]) -> dict[str, Any]:
    return {
        "code": form.get("code", "").strip(),
        "name": form.get("name", "").strip(),
        "note": form.get("note", "").strip(),
        "active": form.get("active") == "on",
        "terms": terms_from(form),
    }


def field_values(terms: dict[str, Any]) -> dict[str, Any]:
    """A version's stored terms as the editor's field values."""
    values: dict[str, Any] = {
        key: "" if terms.get(key) is None else str(terms[key])
        for key in (
            "min_amount", "max_amount", "min_periods", "max_periods", "method", "frequency",
            "day_count", "first_period", "due_day", "interest_only_periods", "date_roll",
        )
    }  # fmt: skip
    values["annual_rate"] = _percent(terms.get("annual_rate"))
    values["tranches_allowed"] = bool(terms.get("tranches_allowed"))
    for i, fee in enumerate(terms.get("fees") or []):
        for key in ("code", "kind", "basis", "deducted"):
            values[f"fees-{i}-{key}"] = fee.get(key)
        percent = fee.get("basis") == "percent"
        values[f"fees-{i}-value"] = _percent(fee["value"]) if percent else fee.get("value")
    values["fee_rows"] = max(len(terms.get("fees") or []) + 1, 2)
    penalty = terms.get("penalty")
    if penalty:
        values["penalty-annual_rate"] = _percent(penalty.get("annual_rate"))
        values["penalty-base"] = penalty.get("base")
        values["penalty-grace_days"] = str(penalty.get("grace_days", 0))
    for i, part in enumerate(terms.get("allocation_order") or []):
        values[f"allocation_order-{i}"] = part
    early = terms.get("early_repayment") or {}
    values["early_repayment-allowed"] = bool(early.get("allowed", True))
    values["early_repayment-fee_percent"] = _percent(early.get("fee_percent", "0"))
    values["early_repayment-min_periods_paid"] = str(early.get("min_periods_paid", 0))
    values["early_repayment-recalculations"] = list(early.get("recalculations") or [])
    for key, value in (terms.get("rounding") or {}).items():
        values[f"rounding-{key}"] = value
    return values


def defaults() -> dict[str, Any]:
    """A new product's form: the usual monthly annuity, cents half up, the usual order."""
    terms = finance.codec.to_dict(
        finance.ProductTerms(
            product_id=None, version=1, code="", name="", min_amount=Decimal("1000.00"),
            max_amount=Decimal("50000.00"), min_periods=3, max_periods=24,
            annual_rate=Decimal("0.12"), frequency=finance.Frequency.MONTHLY,
            method=finance.Method.EQUAL_INSTALLMENT,
        )
    )  # fmt: skip
    return {**field_values(terms), "active": True}


def error_name(path: str, rows: list[int]) -> str:
    """The form field a service problem's path names (``fees.0.value`` is in the first row
    that holds a fee)."""
    parts = path.split(".")
    if parts[0] == "fees" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(rows):
        parts[1] = str(rows[int(parts[1])])
    return "-".join(parts)


def posted_values(form: MultiDict[str, str]) -> dict[str, Any]:
    """The form as typed, to show again after a refusal (nothing typed is lost)."""
    values: dict[str, Any] = {k: form.get(k) for k in form}
    for flag in (
        "active", "tranches_allowed", "early_repayment-allowed",
        "rounding-interest_on_rounded_balance", "rounding-adjust_last",
    ):  # fmt: skip
        values[flag] = form.get(flag) == "on"
    for i in range(MAX_FEES):
        values[f"fees-{i}-deducted"] = form.get(f"fees-{i}-deducted") == "on"
    values["early_repayment-recalculations"] = form.getlist("early_repayment-recalculations")
    rows = fee_rows(form)
    values["fee_rows"] = min(max((rows[-1] + 2) if rows else 2, 2), MAX_FEES)
    return values


LABELS = {
    "name": N_("Name"),
    "min_amount": N_("Smallest amount"),
    "max_amount": N_("Largest amount"),
    "min_periods": N_("Fewest periods"),
    "max_periods": N_("Most periods"),
    "annual_rate": N_("Annual rate (nominal)"),
    "frequency": N_("Repayment frequency"),
    "method": N_("Repayment method"),
    "day_count": N_("Day count"),
    "first_period": N_("First period"),
    "due_day": N_("Due day of the month"),
    "interest_only_periods": N_("Interest-only periods"),
    "fees": N_("Fees"),
    "date_roll": N_("Due date on a non-working day"),
    "tranches_allowed": N_("Disbursement in tranches"),
    "allocation_order": N_("Allocation order"),
    "penalty": N_("Penalty interest"),
    "penalty.annual_rate": N_("Penalty interest rate"),
    "penalty.base": N_("Penalty charged on"),
    "penalty.grace_days": N_("Grace days"),
    "rounding.installment": N_("Installment rounding"),
    "rounding.interest_on_rounded_balance": N_("Interest on the rounded balance"),
    "rounding.remainder": N_("Rounding remainder"),
    "rounding.adjust_last": N_("Adjust so the last installment comes out closest"),
    "early_repayment.allowed": N_("Early repayment allowed"),
    "early_repayment.fee_percent": N_("Early repayment fee"),
    "early_repayment.min_periods_paid": N_("Periods paid before early repayment"),
    "early_repayment.recalculations": N_("After a partial early repayment"),
    "fees.code": N_("Code"),
    "fees.kind": N_("Charged"),
    "fees.basis": N_("Basis"),
    "fees.value": N_("Amount or percent"),
    "fees.deducted": N_("Deducted from the payout"),
}
_CHOICE_LABELS = dict(
    METHODS + FREQUENCIES + FIRST_PERIODS + DATE_ROLLS + INSTALLMENT_ROUNDINGS + REMAINDERS
    + FEE_KINDS + FEE_BASES + PENALTY_BASES + PARTS + RECALCULATIONS
)  # fmt: skip
_RATES = ("annual_rate", "penalty.annual_rate", "early_repayment.fee_percent")


def path_label(path: str, gettext: Any) -> str:
    """``fees.1.value`` as "Fee 2 · Amount or percent", in the reader's language."""
    parts = path.split(".")
    if parts[0] == "fees" and len(parts) == 3 and parts[1].isdigit():
        inner = gettext(LABELS.get(f"fees.{parts[2]}", parts[2]))
        return f"{gettext('Fee')} {int(parts[1]) + 1} · {inner}"
    return str(gettext(LABELS[path])) if path in LABELS else path


def shown(path: str, value: Any, gettext: Any) -> str:
    """A stored value as staff read it: rates as percentages, choices by their label."""
    if value is None or value == []:
        return "—"
    if isinstance(value, bool):
        return str(gettext("Yes") if value else gettext("No"))
    if path in _RATES:
        return f"{_percent(value)}%"
    if isinstance(value, list):
        return " → ".join(shown(path, v, gettext) for v in value)
    if isinstance(value, str) and value in _CHOICE_LABELS:
        return str(gettext(_CHOICE_LABELS[value]))
    return str(value)
