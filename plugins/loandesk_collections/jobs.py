"""The daily broken-promise check (per tenant, ``collections.promises_check``)."""

from __future__ import annotations

import datetime as dt

from loandesk import sdk


def promises_check_job(ctx: sdk.JobContext, today: str | None = None) -> None:
    """Promises whose date (plus the grace days) passed unpaid are broken, with to-dos;
    ``today`` (ISO) defaults to the tenant's."""
    from loandesk_collections.tracking import check_promises

    check_promises(ctx.session, dt.date.fromisoformat(today) if today else None)
    ctx.session.commit()
