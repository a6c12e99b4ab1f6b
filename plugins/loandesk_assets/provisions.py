"""Provisions (拨备): per class, the active loans, their principal outstanding and what is set
aside at the class's rate (tenant settings). One aggregate query under the viewer's data scope
over loans; the rates are applied to the sums (the rounding is the sum's, to the 分)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk_assets import settings
from loandesk_assets.models import CLASS_CODES, LoanClass
from loandesk_assets.scope import scoped

CENT = Decimal("0.01")


@dataclass(frozen=True)
class ProvisionLine:
    loan_class: str
    loans: int
    principal_outstanding: Decimal
    rate: Decimal  # a fraction: 0.25 is 25%
    provision: Decimal


def provisions(session: Session, access: Any | None = None) -> list[ProvisionLine]:
    """One line per class, best first (classes without loans too), then nothing else: the
    caller adds the total. ``access`` (a record access over loans) narrows to its scope."""
    query = select(
        LoanClass.loan_class,
        func.count(),
        func.coalesce(func.sum(LoanClass.principal_outstanding), 0),
    ).where(LoanClass.loan_status == "active")
    if access is not None:
        query = scoped(query, LoanClass, access)
    found = {
        code: (int(n), Decimal(total))
        for code, n, total in session.execute(query.group_by(LoanClass.loan_class))
    }
    rates = settings.rates()
    lines = []
    for code in CLASS_CODES:
        count, principal = found.get(code, (0, Decimal("0.00")))
        principal = Decimal(principal)
        provision = (principal * rates[code]).quantize(CENT, rounding=ROUND_HALF_UP)
        lines.append(ProvisionLine(code, count, principal, rates[code], provision))
    return lines
