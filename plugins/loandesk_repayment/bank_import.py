"""Bank-statement import (银行流水导入): a file is read (``bank_formats``), kept as an import
with its lines, then its credit lines are matched (``matching``) and posted through
``payments.post_payment`` chunk by chunk — in the request for a statement of up to
``INLINE_LIMIT`` credit lines, else in the ``repayment.bank_import`` job, the same code.

Each line's payment carries an idempotency key derived from the line itself (``line_key``):
the receiving account and the bank's transaction serial number when the file has one, else a
hash of its date, amount, payer account, memo and how many identical lines come before it in
the file. Importing the same file again, or a later statement overlapping it, finds those
keys already posted (``already_posted``) or already in the queue (``duplicate``) and posts
nothing twice. No Flask."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_, Conflict, NotFound, ValidationFailed
from loandesk_repayment import bank_formats, matching, payments
from loandesk_repayment.bank_formats import Layout, refuse
from loandesk_repayment.bank_models import BankImport, BankLine, BankMapping
from loandesk_repayment.models import Loan, Payment

INLINE_LIMIT = 1000  # credit lines matched and posted in the upload's request
CHUNK = 200  # lines matched, posted and (in the job) committed together
JOB = "repayment.bank_import"
MAX_ATTEMPTS = 3  # the job's; after the last, the import is marked failed
Progress = Callable[[int, int], None]


def layout_for(session: Session, chosen: str | None) -> tuple[Layout | None, str]:
    """The layout ``chosen`` names — a preset's key, a saved mapping's id, or empty for
    "find it" — and the name the import records."""
    chosen = (chosen or "").strip()
    if not chosen or chosen == "auto":
        return None, "auto"
    if chosen in bank_formats.PRESETS:
        return bank_formats.PRESETS[chosen], chosen
    try:
        mapping = session.scalar(select(BankMapping).where(BankMapping.id == uuid.UUID(chosen)))
    except ValueError:
        mapping = None
    if mapping is None:
        raise refuse("format", N_("Choose one of the options."))
    return bank_formats.layout_of(mapping.columns, label=mapping.name), f"mapping:{mapping.name}"


def line_key(account: str, line: bank_formats.Line) -> str:
    """The idempotency key of a line's payment (at most 100 characters)."""
    if line.serial:
        text = f"serial|{account}|{line.serial}"
    else:
        text = "|".join(
            (
                "line", account, line.booked_on.isoformat(), f"{line.amount:.2f}", line.account,
                line.memo, str(line.occurrence),
            )
        )  # fmt: skip
    return "bank:" + hashlib.sha256(text.encode()).hexdigest()


def upload(
    session: Session,
    *,
    filename: str,
    data: bytes,
    chosen: str | None,
    account: str | None,
    user_id: uuid.UUID,
) -> BankImport:
    """Read ``data`` and keep it as an import with its lines (credits ``pending``, debits
    ``skipped``); nothing is matched yet (``run`` does). ``ValidationFailed`` on ``file``,
    ``format`` or ``account`` when the file cannot be taken: nothing is kept then."""
    account = "".join((account or "").split())
    if len(account) > 40:
        raise refuse("account", N_("Enter at most 40 characters."))
    layout, format_name = layout_for(session, chosen)
    statement = bank_formats.read(data, filename, layout)
    keys = sdk.keyring()
    record = BankImport(
        filename=(filename or "statement")[-255:],
        sha256=hashlib.sha256(data).hexdigest(),
        format=format_name if layout is not None else f"auto:{statement.layout.key}",
        account=account or None,
        state="queued",
        lines=len(statement.lines),
        credits=sum(1 for line in statement.lines if line.direction == "credit"),
        skipped=sum(1 for line in statement.lines if line.direction == "debit"),
        created_by_id=user_id,
    )
    session.add(record)
    session.flush()
    for line in statement.lines:
        row = BankLine(
            id=sdk.uuid7(),
            import_id=record.id,
            row_number=line.row_number,
            occurrence=line.occurrence,
            booked_on=line.booked_on,
            amount=line.amount,
            direction=line.direction,
            counterparty_name=line.name or None,
            memo=line.memo or None,
            serial=line.serial or None,
            idempotency_key=line_key(account, line),
            status="pending" if line.direction == "credit" else "skipped",
        )
        if line.account:
            row.tenant_id = sdk.current().id
            row.account_enc = keys.encrypt(
                line.account, record_type=BankLine.__tablename__, field="account", record_id=row.id
            )
            row.account_hash = keys.search_hash("bank_card", line.account)
            row.account_tail = line.account[-4:]
        session.add(row)
    session.flush()
    sdk.audit_record(
        session,
        "bank_import.upload",
        "bank_import",
        record.id,
        {
            "filename": record.filename,
            "sha256": record.sha256,
            "format": record.format,
            "lines": record.lines,
            "credits": record.credits,
        },
    )
    return record


def runs_inline(record: BankImport) -> bool:
    return record.credits <= INLINE_LIMIT


def run(
    session: Session,
    record: BankImport,
    *,
    progress: Progress | None = None,
    commit: Callable[[], None] | None = None,
) -> BankImport:
    """Match and post the import's pending lines, ``CHUNK`` at a time in date order (so
    each payment is allocated after the earlier ones), then finish it. ``commit`` (the job's)
    is called after each chunk, so a retried job goes on where it stopped."""
    record.state = "running"
    while True:
        batch = list(
            session.scalars(
                select(BankLine)
                .where(BankLine.import_id == record.id, BankLine.status == "pending")
                .order_by(BankLine.booked_on, BankLine.row_number)
                .limit(CHUNK)
            )
        )
        if not batch:
            break
        for line in batch:
            _process(session, record, line)
        recount(session, record)
        if progress is not None:
            progress(record.done, record.credits)
        if commit is not None:
            commit()
    return finish(session, record)


def _process(session: Session, record: BankImport, line: BankLine) -> None:
    posted = session.scalar(select(Payment).where(Payment.idempotency_key == line.idempotency_key))
    if posted is not None:
        line.status, line.loan_id, line.payment_id = "already_posted", posted.loan_id, posted.id
        return
    earlier = session.scalar(
        select(BankLine.id).where(
            BankLine.idempotency_key == line.idempotency_key,
            BankLine.id != line.id,
            BankLine.status.in_(("unmatched", "dismissed")),
        )
    )
    if earlier is not None:
        line.status, line.detail = "duplicate", str(earlier)
        return
    account = _account(line)
    found = matching.match_line(session, line, account)
    if found.loan is None:
        _queue(session, line, found.reason or "no_match", found.detail)
        return
    try:
        with session.begin_nested():
            done = payments.post_payment(
                session,
                found.loan,
                line.amount,
                line.booked_on,
                source="import",
                reference=(line.serial or line.memo or "")[:100],
                idempotency_key=line.idempotency_key,
                posted_by=record.created_by_id,
            )
    except (ValidationFailed, Conflict) as problem:
        _queue(session, line, "refused", _why(problem), found.loan.id)
        return
    line.status, line.rule = ("already_posted" if done.replayed else "posted"), found.rule
    line.loan_id, line.payment_id = found.loan.id, done.payment.id


def _why(problem: ValidationFailed | Conflict) -> str:
    """What the refusal says, field by field (a date before the payout, a loan settled)."""
    errors = getattr(problem, "errors", None) or {}
    parts = [f"{field}: {'; '.join(str(m) for m in found)}" for field, found in errors.items()]
    return " ".join([str(problem), *parts])[:500]


def _account(line: BankLine) -> str:
    if line.account_enc is None:
        return ""
    return sdk.keyring().decrypt(
        line.account_enc, record_type=BankLine.__tablename__, field="account", record_id=line.id
    )


def _queue(
    session: Session, line: BankLine, reason: str, detail: str, loan_id: uuid.UUID | None = None
) -> None:
    line.status, line.reason, line.detail, line.loan_id = (
        "unmatched",
        reason,
        detail or None,
        loan_id,
    )
    sdk.emit(
        session,
        "bank_line.unmatched",
        "bank_line",
        line.id,
        {"amount": str(line.amount), "booked_on": line.booked_on.isoformat(), "reason": reason},
    )


def recount(session: Session, record: BankImport) -> None:
    """The import's counts from its lines' outcomes."""
    counts = dict(
        session.execute(
            select(BankLine.status, func.count())
            .where(BankLine.import_id == record.id)
            .group_by(BankLine.status)
        ).all()
    )
    record.posted = counts.get("posted", 0) + counts.get("assigned", 0)
    record.already_posted = counts.get("already_posted", 0)
    record.duplicates = counts.get("duplicate", 0)
    record.unmatched = counts.get("unmatched", 0)
    record.skipped = counts.get("skipped", 0)
    record.done = record.credits - counts.get("pending", 0)


def finish(session: Session, record: BankImport) -> BankImport:
    recount(session, record)
    record.state, record.finished_at = "done", sdk.utcnow()
    counts = {
        k: getattr(record, k)
        for k in (
            "lines",
            "credits",
            "posted",
            "already_posted",
            "duplicates",
            "unmatched",
            "skipped",
        )
    }
    session.flush()
    sdk.audit_record(session, "bank_import.complete", "bank_import", record.id, counts)
    sdk.emit(session, "bank_import.completed", "bank_import", record.id, counts)
    return record


def queue_job(session: Session, record: BankImport) -> BankImport:
    """Enqueue the job of an import ``upload`` kept, once the caller committed it."""
    record.job_id = sdk.enqueue(JOB, sdk.current().id, str(record.id))
    return record


def bank_import_job(ctx: sdk.JobContext, import_id: str) -> None:
    """The ``repayment.bank_import`` job: match and post an import's lines chunk by chunk,
    committing each, with its progress. When its last attempt fails too, the import is
    marked ``failed`` with what went wrong (personal numbers masked): the chunks committed
    before stay posted, and ``retry`` goes on from the first line still waiting."""
    record = ctx.session.scalar(select(BankImport).where(BankImport.id == uuid.UUID(import_id)))
    if record is None or record.state in ("done", "failed"):
        return
    try:
        run(ctx.session, record, progress=ctx.report_progress, commit=ctx.session.commit)
    except Exception as error:
        ctx.session.rollback()
        if ctx.attempt >= MAX_ATTEMPTS:
            failed(ctx.session, uuid.UUID(import_id), error)
            ctx.session.commit()
        raise


def failed(session: Session, import_id: uuid.UUID, error: BaseException) -> None:
    """Mark an import whose job ran out of attempts: ``failed``, with the error (audited)."""
    record = session.scalar(select(BankImport).where(BankImport.id == import_id))
    if record is None:
        return
    recount(session, record)
    record.state = "failed"
    record.error = sdk.scrub_personal(f"{type(error).__name__}: {error}")[:500]
    record.finished_at = sdk.utcnow()
    session.flush()
    sdk.audit_record(
        session, "bank_import.failed", "bank_import", record.id,
        {"state": ["running", "failed"], "done": record.done, "credits": record.credits},
    )  # fmt: skip


def retry(session: Session, record: BankImport, *, user_id: uuid.UUID) -> BankImport:
    """Queue a failed import's job again (the caller commits, then ``queue_job``): lines
    already posted or queued keep their outcome, the waiting ones are matched now. 409 for
    an import that did not fail."""
    if record.state != "failed":
        raise Conflict(N_("Only an import that stopped with an error can be retried."))
    record.state, record.error, record.finished_at = "queued", None, None
    session.flush()
    sdk.audit_record(
        session, "bank_import.retry", "bank_import", record.id,
        {"state": ["failed", "queued"], "by": str(user_id)},
    )  # fmt: skip
    return record


def get_import(session: Session, import_id: Any) -> BankImport:
    found = session.scalar(select(BankImport).where(BankImport.id == import_id))
    if found is None:
        raise NotFound(N_("No such statement import."))
    return found


def get_line(session: Session, line_id: Any) -> BankLine:
    found = session.scalar(select(BankLine).where(BankLine.id == line_id))
    if found is None:
        raise NotFound(N_("No such statement line."))
    return found


def payer_account(line: BankLine, *, masked: bool = True) -> str | None:
    """The payer's account, masked to its last four digits unless ``masked`` is False."""
    if line.account_enc is None:
        return None
    return f"****{line.account_tail}" if masked else _account(line)


def _check_open(line: BankLine) -> None:
    if line.status != "unmatched":
        raise Conflict(N_("This line is no longer waiting to be matched."))


def assign(session: Session, line: BankLine, loan: Loan, *, user_id: uuid.UUID) -> BankLine:
    """Post an unmatched line to ``loan`` (a person chose it), with the line's own key."""
    line = session.scalars(select(BankLine).where(BankLine.id == line.id).with_for_update()).one()
    _check_open(line)
    done = payments.post_payment(
        session,
        loan,
        line.amount,
        line.booked_on,
        source="import",
        reference=(line.serial or line.memo or "")[:100],
        idempotency_key=line.idempotency_key,
        posted_by=user_id,
    )
    line.status, line.rule, line.loan_id, line.payment_id = (
        "assigned",
        "manual",
        loan.id,
        done.payment.id,
    )
    line.resolved_by_id, line.resolved_at = user_id, sdk.utcnow()
    record = get_import(session, line.import_id)
    recount(session, record)
    session.flush()
    sdk.audit_record(
        session,
        "bank_line.assign",
        "bank_line",
        line.id,
        {"loan_id": str(loan.id), "payment_id": str(done.payment.id), "amount": str(line.amount)},
    )
    return line


def dismiss(
    session: Session, line: BankLine, reason: str, note: str, *, user_id: uuid.UUID
) -> BankLine:
    """Take an unmatched line off the queue as no repayment (not ours, a refund, ...)."""
    from loandesk_repayment.bank_models import DISMISS_REASONS

    if reason not in DISMISS_REASONS:
        raise refuse("reason", N_("Choose one of the options."))
    note = (note or "").strip()
    if len(note) > 500 or (reason == "other" and not note):
        raise refuse("note", N_("Say why (up to 500 characters)."))
    line = session.scalars(select(BankLine).where(BankLine.id == line.id).with_for_update()).one()
    _check_open(line)
    line.status, line.reason, line.detail = "dismissed", reason, note or None
    line.resolved_by_id, line.resolved_at = user_id, sdk.utcnow()
    recount(session, get_import(session, line.import_id))
    session.flush()
    sdk.audit_record(
        session, "bank_line.dismiss", "bank_line", line.id, {"reason": reason, "note": note or None}
    )
    return line
