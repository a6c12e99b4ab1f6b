"""A product's terms as written (an API body or the editor's form, already as JSON values)
checked field by field into ``ProductTerms``. Every problem is named by its path in the terms
(``max_amount``, ``fees.1.value``, ``penalty.grace_days``), so the API and the form show it
next to the field. Rates and percentages are fractions here (``"0.12"`` is 12%)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from loandesk.sdk import N_, ValidationFailed, finance, message

MAX_AMOUNT = Decimal("100000000")
MAX_PERIODS = 360
FEE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
# the keys a version's stored terms hold: ProductTerms without what the product row holds
TERM_KEYS = (
    "min_amount",
    "max_amount",
    "min_periods",
    "max_periods",
    "annual_rate",
    "frequency",
    "method",
    "day_count",
    "first_period",
    "due_day",
    "interest_only_periods",
    "fees",
    "rounding",
    "date_roll",
    "penalty",
    "allocation_order",
    "early_repayment",
    "tranches_allowed",
)


class Problems:
    """Problems found so far, by path."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, text: str) -> None:
        self.errors.setdefault(path, []).append(text)


def decimal_value(
    problems: Problems,
    path: str,
    raw: Any,
    *,
    low: Decimal,
    high: Decimal,
    places: int,
    required: bool = True,
    rate: bool = False,
) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            problems.add(path, N_("Enter a value."))
        return None
    try:
        if isinstance(raw, float | bool):  # a float never touches money
            raise InvalidOperation
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        problems.add(path, N_("Enter a number such as 12.5."))
        return None
    if not value.is_finite() or value != value.quantize(Decimal(1).scaleb(-places)):
        problems.add(path, N_("Enter a number with at most the allowed decimals."))
        return None
    if not low <= value <= high:
        if rate:  # rates are fractions in the API and percentages on the form: say both
            text = message(
                N_("Enter a rate from %(low)s to %(high)s."), low=_pct(low), high=_pct(high)
            )
        else:
            text = message(N_("Enter a value from %(low)s to %(high)s."), low=low, high=high)
        problems.add(path, text)
        return None
    return value


def _pct(value: Decimal) -> str:
    return f"{(value * 100).normalize():f}%"


def integer_value(
    problems: Problems, path: str, raw: Any, *, low: int, high: int, required: bool = True
) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            problems.add(path, N_("Enter a value."))
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        problems.add(path, N_("Enter a whole number."))
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        problems.add(path, N_("Enter a whole number."))
        return None
    if not low <= value <= high:
        problems.add(
            path, message(N_("Enter a value from %(low)s to %(high)s."), low=low, high=high)
        )
        return None
    return value


def _choice(problems: Problems, path: str, raw: Any, enum: Any, default: Any = None) -> Any:
    if raw is None or raw == "":
        if default is not None:
            return default
        problems.add(path, N_("Choose one."))
        return None
    try:
        return enum(raw)
    except ValueError:
        problems.add(path, N_("Choose one of the offered values."))
        return None


def _flag(problems: Problems, path: str, raw: Any, default: bool) -> bool:
    if raw is None:
        return default
    if not isinstance(raw, bool):
        problems.add(path, N_("Enter true or false."))
        return default
    return raw


def _object(problems: Problems, path: str, raw: Any) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.add(path, N_("Enter an object."))
        return {}
    return raw


def _fees(problems: Problems, raw: Any) -> tuple[finance.Fee, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add("fees", N_("Enter a list."))
        return ()
    fees, codes = [], set()
    for i, item in enumerate(raw):
        where = f"fees.{i}"
        given = _object(problems, where, item)
        code = given.get("code")
        if not isinstance(code, str) or not FEE_CODE.match(code):
            problems.add(f"{where}.code", N_("Use lowercase letters, digits and _ (service_fee)."))
        elif code in codes:
            problems.add(f"{where}.code", N_("Another fee has this code."))
        codes.add(code)
        kind = _choice(problems, f"{where}.kind", given.get("kind"), finance.FeeKind)
        basis = _choice(problems, f"{where}.basis", given.get("basis"), finance.FeeBasis)
        if basis is finance.FeeBasis.PERCENT:
            value = decimal_value(
                problems, f"{where}.value", given.get("value"), low=Decimal("0.000001"),
                high=Decimal("0.999999"), places=6, rate=True,
            )  # fmt: skip
        else:
            value = decimal_value(
                problems, f"{where}.value", given.get("value"), low=Decimal("0.01"),
                high=MAX_AMOUNT, places=2,
            )  # fmt: skip
        deducted = _flag(problems, f"{where}.deducted", given.get("deducted"), False)
        if deducted and kind is finance.FeeKind.PER_INSTALLMENT:
            problems.add(f"{where}.deducted", N_("Only an upfront fee can be deducted."))
        unknown = set(given) - {"code", "kind", "basis", "value", "deducted"}
        for key in sorted(unknown):
            problems.add(f"{where}.{key}", N_("Unknown field."))
        if kind is not None and basis is not None and value is not None:
            fees.append(finance.Fee(str(code), kind, basis, value, deducted))
    return tuple(fees)


def _penalty(problems: Problems, raw: Any) -> finance.Penalty | None:
    if raw is None:
        return None
    given = _object(problems, "penalty", raw)
    rate = decimal_value(
        problems, "penalty.annual_rate", given.get("annual_rate"), low=Decimal(0),
        high=Decimal(1), places=6, rate=True,
    )  # fmt: skip
    base = _choice(
        problems, "penalty.base", given.get("base"), finance.PenaltyBase,
        finance.PenaltyBase.OVERDUE_PRINCIPAL,
    )  # fmt: skip
    grace = integer_value(
        problems, "penalty.grace_days", given.get("grace_days", 0), low=0, high=90
    )
    if rate is None or base is None or grace is None:
        return None
    return finance.Penalty(rate, base, grace)


def _allocation(problems: Problems, raw: Any) -> tuple[finance.Part, ...]:
    if raw is None:
        return finance.DEFAULT_ALLOCATION
    try:
        parts = tuple(finance.Part(p) for p in raw) if isinstance(raw, list) else ()
    except ValueError:
        parts = ()
    if len(parts) != len(finance.Part) or set(parts) != set(finance.Part):
        problems.add(
            "allocation_order",
            N_("Put each of penalty, fees, interest and principal once, in order."),
        )
        return finance.DEFAULT_ALLOCATION
    return parts


def _early(problems: Problems, raw: Any) -> finance.EarlyRepayment:
    given = _object(problems, "early_repayment", raw)
    allowed = _flag(problems, "early_repayment.allowed", given.get("allowed"), True)
    fee = decimal_value(
        problems, "early_repayment.fee_percent", given.get("fee_percent", "0"), low=Decimal(0),
        high=Decimal("0.2"), places=6, rate=True,
    )  # fmt: skip
    paid = integer_value(
        problems, "early_repayment.min_periods_paid", given.get("min_periods_paid", 0), low=0,
        high=MAX_PERIODS,
    )  # fmt: skip
    chosen = given.get("recalculations")
    recalculations = finance.EarlyRepayment().recalculations
    if chosen is not None:
        try:
            if not isinstance(chosen, list):
                raise ValueError
            recalculations = tuple(finance.Recalculation(r) for r in dict.fromkeys(chosen))
        except ValueError:
            problems.add("early_repayment.recalculations", N_("Choose one of the offered values."))
    return finance.EarlyRepayment(allowed, fee or Decimal(0), paid or 0, recalculations)


def _rounding(problems: Problems, raw: Any) -> finance.Rounding:
    given = _object(problems, "rounding", raw)
    default = finance.Rounding()
    return finance.Rounding(
        installment=_choice(
            problems,
            "rounding.installment",
            given.get("installment"),
            finance.InstallmentRounding,
            default.installment,
        ),
        interest_on_rounded_balance=_flag(
            problems,
            "rounding.interest_on_rounded_balance",
            given.get("interest_on_rounded_balance"),
            default.interest_on_rounded_balance,
        ),
        remainder=_choice(
            problems,
            "rounding.remainder",
            given.get("remainder"),
            finance.Remainder,
            default.remainder,
        ),
        adjust_last=_flag(
            problems, "rounding.adjust_last", given.get("adjust_last"), default.adjust_last
        ),
    )


def load_terms(
    raw: Mapping[str, Any],
    *,
    product_id: Any,
    version: int,
    code: str,
    name: str,
    single_allowed: bool = False,
) -> finance.ProductTerms:
    """``raw`` (the keys of ``TERM_KEYS``) as ``ProductTerms``; ``ValidationFailed`` (422)
    naming every wrong field. The cap on the annualised rate is checked elsewhere
    (``pricing.check_cap``): it needs schedules."""
    problems = Problems()
    if not isinstance(raw, Mapping):
        raise ValidationFailed(
            N_("Some fields need attention."), errors={"terms": [N_("Enter an object.")]}
        )
    for key in sorted(set(raw) - set(TERM_KEYS)):
        problems.add(key, N_("Unknown field."))
    amounts = {
        key: decimal_value(
            problems, key, raw.get(key), low=Decimal("0.01"), high=MAX_AMOUNT, places=2
        )
        for key in ("min_amount", "max_amount")
    }
    periods = {
        key: integer_value(problems, key, raw.get(key), low=1, high=MAX_PERIODS)
        for key in ("min_periods", "max_periods")
    }
    low_amount, high_amount = amounts["min_amount"], amounts["max_amount"]
    if low_amount and high_amount and high_amount < low_amount:
        problems.add("max_amount", N_("Enter at least the smallest amount."))
    fewest, most = periods["min_periods"], periods["max_periods"]
    if fewest and most and most < fewest:
        problems.add("max_periods", N_("Enter at least the fewest periods."))
    rate = decimal_value(
        problems, "annual_rate", raw.get("annual_rate"), low=Decimal(0), high=Decimal(1),
        places=6, rate=True,
    )  # fmt: skip
    method = _choice(problems, "method", raw.get("method"), finance.Method)
    frequency = _choice(problems, "frequency", raw.get("frequency"), finance.Frequency)
    if frequency is finance.Frequency.SINGLE and not single_allowed:
        # a product's loans run a number of periods; one payment after them is the
        # single-payment method with a frequency (a dated one is the calculator's)
        problems.add(
            "frequency",
            N_("For one payment at the end, choose the single-payment method with a frequency."),
        )
    if method is finance.Method.INTEREST_FIRST and periods["min_periods"] == 1:
        problems.add("min_periods", N_("Interest first needs at least 2 periods."))
    first = _choice(
        problems, "first_period", raw.get("first_period"), finance.FirstPeriod,
        finance.FirstPeriod.FULL,
    )  # fmt: skip
    due_day = integer_value(problems, "due_day", raw.get("due_day"), low=1, high=28, required=False)
    if first is finance.FirstPeriod.BROKEN and due_day is None:
        problems.add("due_day", N_("A broken first period needs the day installments fall due."))
    if first is not finance.FirstPeriod.BROKEN and due_day is not None:
        problems.add(
            "due_day",
            N_("Only with a broken first period: a full one falls due on the start's day."),
        )
    monthly = (finance.Frequency.MONTHLY, finance.Frequency.QUARTERLY)
    if first is finance.FirstPeriod.BROKEN and frequency and frequency not in monthly:
        problems.add(
            "first_period", N_("A broken first period needs a monthly or quarterly frequency.")
        )
    interest_only = integer_value(
        problems, "interest_only_periods", raw.get("interest_only_periods"), low=0,
        high=MAX_PERIODS, required=False,
    )  # fmt: skip
    if interest_only is not None:
        if method is not finance.Method.INTEREST_FIRST:
            problems.add("interest_only_periods", N_("Only for the interest-first method."))
        elif periods["min_periods"] and interest_only >= periods["min_periods"]:
            problems.add("interest_only_periods", N_("Keep it below the fewest periods."))
    values = {
        "day_count": _choice(
            problems,
            "day_count",
            raw.get("day_count"),
            finance.DayCount,
            finance.DayCount.THIRTY_360,
        ),
        "date_roll": _choice(
            problems, "date_roll", raw.get("date_roll"), finance.DateRoll, finance.DateRoll.NONE
        ),
        "fees": _fees(problems, raw.get("fees")),
        "rounding": _rounding(problems, raw.get("rounding")),
        "penalty": _penalty(problems, raw.get("penalty")),
        "allocation_order": _allocation(problems, raw.get("allocation_order")),
        "early_repayment": _early(problems, raw.get("early_repayment")),
        "tranches_allowed": _flag(problems, "tranches_allowed", raw.get("tranches_allowed"), False),
    }
    if problems.errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=problems.errors)
    return finance.ProductTerms(
        product_id=product_id,
        version=version,
        code=code,
        name=name,
        min_amount=amounts["min_amount"],  # type: ignore[arg-type]
        max_amount=amounts["max_amount"],  # type: ignore[arg-type]
        min_periods=periods["min_periods"],  # type: ignore[arg-type]
        max_periods=periods["max_periods"],  # type: ignore[arg-type]
        annual_rate=rate,  # type: ignore[arg-type]
        frequency=frequency,
        method=method,
        first_period=first,
        due_day=due_day,
        interest_only_periods=interest_only,
        **values,
    )


def stored(terms: finance.ProductTerms) -> dict[str, Any]:
    """What a version row keeps of ``terms`` (JSON values)."""
    data = finance.codec.to_dict(terms)
    return {key: data[key] for key in TERM_KEYS}


def from_stored(
    data: Mapping[str, Any], *, product_id: Any, version: int, code: str, name: str
) -> finance.ProductTerms:
    """A version row's terms back, exactly (the codec refuses anything it does not know)."""
    return finance.codec.product_terms_from_dict(
        {**data, "product_id": str(product_id), "version": version, "code": code, "name": name}
    )
