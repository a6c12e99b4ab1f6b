"""Small checks the services share: the tenant's today, a refusal naming one field, and an
amount as money (yuan with at most two decimals, never a float)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from loandesk import sdk
from loandesk.sdk import N_, ValidationFailed, message


def local_today() -> dt.date:
    return sdk.utcnow().astimezone(ZoneInfo(sdk.current().timezone)).date()


def refuse(field: str, text: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(
        N_("Some fields need attention."), errors={field: [message(text, **params)]}
    )


def amount_of(raw: Any, field: str) -> Decimal:
    """A positive amount in yuan with at most two decimals, from text or a Decimal."""
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        value = None
    if isinstance(raw, float | bool) or value is None or not value.is_finite() or value <= 0:
        raise refuse(field, N_("Enter an amount such as 200000.00."))
    if value != value.quantize(Decimal("0.01")):
        raise refuse(field, N_("Enter at most two decimals."))
    return value.quantize(Decimal("0.01"))


# --- booking and activation -----------------------------------------------------------------
