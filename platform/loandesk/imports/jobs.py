"""The import's background jobs: the preview (validate every row) and the import (write the
valid ones). Both act as the user who uploaded the file, under that user's data scope and
field permissions at the time the job runs, and speak the sheet's language (the uploader's)
in the messages they record."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app, g
from flask_babel import force_locale, gettext
from sqlalchemy import select

from loandesk import pii
from loandesk.audit import Actor, actor_context
from loandesk.auth.models import User
from loandesk.errors import DomainError
from loandesk.fields.current import current_form, value_context
from loandesk.i18n import N_
from loandesk.imports import service, sheets
from loandesk.imports.models import ImportBatch
from loandesk.jobs import JobContext, JobSpec
from loandesk.plugins import runtime
from loandesk.rbac.access import RecordAccess


class BatchNotReady(LookupError):
    """The batch is not visible yet (its upload is still committing): the job is retried."""


def _batch(ctx: JobContext, batch_id: str) -> ImportBatch:
    batch = ctx.session.scalar(select(ImportBatch).where(ImportBatch.id == uuid.UUID(batch_id)))
    if batch is None:
        raise BatchNotReady(batch_id)
    return batch


@contextmanager
def _as_uploader(ctx: JobContext, batch: ImportBatch) -> Iterator[tuple[Any, service.Run]]:
    """The uploader's run: who acts (audit, data scope), in their language."""
    session = ctx.session
    user = session.scalar(select(User).where(User.id == batch.created_by_id))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # Messages are translated with the request's locale: the job gets a request context of
    # its own, in the uploader's language.
    with app.test_request_context(), force_locale(batch.locale):
        if user is None or not user.is_active or not user.can(service.PERMISSION):
            raise Refused(gettext("The user who uploaded the file may no longer import."))
        g.user = user
        actor = Actor(kind="user", id=str(user.id), label=f"{user.email} (import)")
        with actor_context(actor):
            record_type = service.importable(runtime.record_type(batch.record_type))
            form = current_form(record_type)
            access = RecordAccess.resolve(session, user, form.record_type)
            fields = service.importable_fields(form, access)
            assert batch.content is not None
            try:
                sheet = sheets.layout(batch.content, fields)
            except sheets.UnreadableSheet as problem:
                raise Refused(gettext(problem.message, **problem.params)) from None
            context = value_context()
            context.users_by_name = _staff_names(session)
            run = service.Run(
                form=form,
                access=access,
                fields=fields,
                sheet=sheet,
                context=context,
                keys=pii.for_current_tenant(),
                locale=batch.locale,
            )
            yield user, run


class Refused(Exception):
    """The batch cannot go on; its ``problem`` says why."""


def _staff_names(session: Any) -> dict[str, uuid.UUID]:
    """Staff as a sheet names them: by e-mail, or by display name where it is unique."""
    names: dict[str, uuid.UUID] = {}
    taken: set[str] = set()
    for user in session.scalars(select(User).where(User.status == "active")):
        names[user.email] = user.id
        if user.display_name in names or user.display_name in taken:
            names.pop(user.display_name, None)
            taken.add(user.display_name)
        else:
            names[user.display_name] = user.id
    return names


def preview(ctx: JobContext, batch_id: str) -> None:
    """Validate every row of an uploaded batch (nothing is written but the findings)."""
    batch = _batch(ctx, batch_id)
    if batch.state != "previewing":
        return
    try:
        with _as_uploader(ctx, batch) as (_user, run):
            try:
                service.preview(ctx.session, batch, run, progress=ctx.report_progress)
            except service.TooManyRows:
                ctx.session.rollback()
                raise Refused(
                    gettext(N_("A file may hold at most %(count)s rows."), count=service.MAX_ROWS)
                ) from None
    except Refused as refused:
        service.fail(batch, str(refused))


def run(ctx: JobContext, batch_id: str) -> None:
    """Write the valid rows of a confirmed batch."""
    batch = _batch(ctx, batch_id)
    if batch.state != "importing":
        return
    try:
        with _as_uploader(ctx, batch) as (user, uploader_run):
            service.run_import(
                ctx.session, batch, uploader_run, owner_id=user.id, progress=ctx.report_progress
            )
    except (Refused, DomainError) as refused:
        ctx.session.rollback()
        service.fail(batch, str(refused))


JOBS = [
    JobSpec("core.import_preview", preview, max_attempts=3, timeout=3600),
    JobSpec("core.import_run", run, max_attempts=5, backoff=(10, 60, 300), timeout=4 * 3600),
]
