"""Periodic jobs: contracts not signed in time expire, borrowers are reminded before that
(daily, in the tenant's morning; both are idempotent, so a second run does nothing)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from loandesk import sdk
from loandesk_contracts import signing


def local_today() -> dt.date:
    return sdk.utcnow().astimezone(ZoneInfo(sdk.current().timezone)).date()


def expire_and_remind(ctx: sdk.JobContext) -> None:
    today = local_today()
    signing.expire_due(ctx.session, today)
    signing.remind_due(ctx.session, today)
