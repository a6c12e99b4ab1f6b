"""The scheduled jobs: the daily scoring of every active loan into the watch list (after
close of business) and the weekly retraining of the tenant's model. Both are safe to retry:
the watch list is rewritten from the loans as they stand, and events go out only when an
entry changes status or level."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from zoneinfo import ZoneInfo

from loandesk import sdk
from loandesk_warning import scoring, training
from loandesk_warning import settings as warning_settings

log = logging.getLogger(__name__)

SCORE_JOB = "warning.score"
TRAIN_JOB = "warning.train"


def local_today() -> dt.date:
    """Today in the current tenant's timezone (its business day)."""
    return dt.datetime.now(ZoneInfo(sdk.current().timezone or "Asia/Shanghai")).date()


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(ZoneInfo(sdk.current().timezone or "Asia/Shanghai")).date()


def score_job(ctx: sdk.JobContext) -> None:
    """Score every active loan, a chunk per transaction; then clear entries of loans that
    are no longer active."""
    session = ctx.session
    try:
        book = sdk.loan_book()
    except sdk.NotFound:
        return
    settings = warning_settings.current()
    model = training.active_model(session)
    today = local_today()
    outcome = scoring.Outcome()
    seen: set[uuid.UUID] = set()
    after = None
    while True:
        chunk = book.histories(session, after=after, limit=scoring.CHUNK)
        scoring.score_chunk(
            session, chunk, today=today, model=model, settings=settings, outcome=outcome
        )
        seen.update(h.loan.id for h in chunk)
        session.commit()
        ctx.report_progress(outcome.scored, outcome.scored)
        if len(chunk) < scoring.CHUNK:
            break
        after = chunk[-1].loan.id
    scoring.clear_inactive(session, seen, outcome)
    session.commit()
    log.info(
        "warning scoring: %d loans, %d flagged, %d cleared",
        outcome.scored, len(outcome.flagged), len(outcome.cleared),
    )  # fmt: skip


def train_job(ctx: sdk.JobContext) -> None:
    """Retrain on the tenant's book; a book too thin to learn from is logged, not retried."""
    try:
        model = training.train(
            ctx.session, as_of=local_today(), settings=warning_settings.current()
        )
    except (sdk.Conflict, sdk.NotFound) as problem:
        ctx.session.rollback()
        log.info("warning model not trained: %s", problem.message)
        return
    ctx.session.commit()
    log.info("warning model v%d trained: AUC %s, KS %s", model.version, model.auc, model.ks)
