"""The split of an order between the loan's funders (资金方, 联合贷 70/30), from the shares
the loan was booked with (``LoanSummary.funders``): each funder's part rounded down to the
cent, the remainder to the last, so that the parts always sum to the order's amount."""

from __future__ import annotations

import uuid
from decimal import ROUND_DOWN, Decimal

from loandesk import sdk
from loandesk_disbursement.models import SHARE_UNIT

CENT = Decimal("0.01")
OWN_FUNDS = sdk.N_("Own funds")


def loan_shares(loan: sdk.LoanSummary) -> list[tuple[uuid.UUID | None, str, int]]:
    """(funder id, name, share in millionths) of the loan's funders; the tenant's own funds
    alone when the loan book names none."""
    shares: list[tuple[uuid.UUID | None, str, int]] = [
        (f.funder_id, f.name, int(f.share * SHARE_UNIT)) for f in loan.funders
    ]
    return shares or [(None, OWN_FUNDS, SHARE_UNIT)]


def split(
    loan: sdk.LoanSummary, amount: Decimal
) -> list[tuple[uuid.UUID | None, str, int, Decimal]]:
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
