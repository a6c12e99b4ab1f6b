"""The split of an order between the loan's funders (资金方, 联合贷 70/30), from the shares
the loan was booked with: each funder's part rounded down to the cent, the remainder to the
last, so that the parts always sum to the order's amount."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import ROUND_DOWN, Decimal
from typing import Any

from loandesk import sdk
from loandesk_disbursement.models import SHARE_UNIT

CENT = Decimal("0.01")
OWN_FUNDS = sdk.N_("Own funds")


def _millionths(share: Any) -> int:
    """A share as integer millionths, given as millionths (700000) or a fraction (0.7)."""
    value = Decimal(str(share))
    return int(value) if value > 1 else int(value * SHARE_UNIT)


def loan_shares(loan: Any) -> list[tuple[uuid.UUID | None, str, int]]:
    """(funder id, name, millionths) of the loan's funders; the tenant's own funds alone when
    the loan book names none."""
    found: Iterable[Any] = getattr(loan, "funders", None) or ()
    shares = []
    for funder in found:
        get = funder.get if isinstance(funder, dict) else lambda k, f=funder: getattr(f, k, None)
        funder_id = get("funder_id") or get("id")
        name = get("name") or get("funder_name") or get("code") or ""
        shares.append((_as_uuid(funder_id), str(name), _millionths(get("share"))))
    return shares or [(None, OWN_FUNDS, SHARE_UNIT)]


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def split(loan: Any, amount: Decimal) -> list[tuple[uuid.UUID | None, str, int, Decimal]]:
    shares = loan_shares(loan)
    parts, given = [], Decimal(0)
    for index, (funder_id, name, share) in enumerate(shares):
        if index == len(shares) - 1:
            part = amount - given
        else:
            part = (amount * share / SHARE_UNIT).quantize(CENT, rounding=ROUND_DOWN)
        given += part
        parts.append((funder_id, name, share, part))
    return parts
