"""The daily job: yesterday's vouchers (in the tenant's time zone), made from the ledger after
close of business has booked the night's penalty interest."""

from __future__ import annotations

import datetime as dt

from loandesk import sdk
from loandesk_vouchers import service

DAILY = "vouchers.generate_daily"


def generate_daily(ctx: sdk.JobContext, day: str | None = None) -> None:
    """``day`` (ISO) when given, else yesterday; a missing mapping fails the job with the
    kinds and accounts to map, shown in Administration → Background jobs."""
    when = dt.date.fromisoformat(day) if day else service.local_today() - dt.timedelta(days=1)
    service.generate(ctx.session, when)
