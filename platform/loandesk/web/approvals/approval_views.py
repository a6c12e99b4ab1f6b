"""An approval's page: what was submitted, the path and the timeline, and the viewer's actions
(approve, reject, send back, transfer, add a signer, withdraw, comment; with files). The engine
decides whether each is allowed now; a decision someone else made a moment earlier comes back
as a message on the page as it now stands."""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext, lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from loandesk import extension
from loandesk.errors import Conflict, Forbidden, ValidationFailed
from loandesk.flows import actions, inbox
from loandesk.flows.models import FlowAction
from loandesk.i18n import N_
from loandesk.storage import StorageError, storage
from loandesk.storage.models import Attachment
from loandesk.web import attachment_views, sign_in
from loandesk.web.approvals import bp, files, view
from loandesk.web.auth_views import login_required
from loandesk.web.forms import FormErrors

DONE = {
    "approve": lazy_gettext("Approved."),
    "reject": lazy_gettext("Rejected."),
    "send_back": lazy_gettext("Sent back."),
    "transfer": lazy_gettext("Transferred."),
    "add_signer": lazy_gettext("Signer added."),
    "withdraw": lazy_gettext("Withdrawn."),
    "comment": lazy_gettext("Comment added."),
}


def _locale() -> str:
    return str(get_locale() or "zh")


def render_approval(
    session: Session,
    visible: view.Visible,
    *,
    op: str | None = None,
    errors: FormErrors | None = None,
    posted: MultiDict[str, str] | None = None,
    code: int = 200,
) -> Any:
    locale = _locale()
    context = {
        "approval": view.approval(session, visible),
        "panel": view.panel(session, visible),
        "fields": view.submitted_values(session, visible, locale),
        "op": op,
        "errors": errors or FormErrors(),
        "posted": posted or MultiDict(),
        "locale": locale,
    }
    return render_template("approvals/approval.html", **context), code


@bp.get("/<uuid:instance_id>", endpoint="detail")
@login_required
def approval_detail(instance_id: uuid.UUID) -> Any:
    session = extension.session()
    visible = view.open_approval(session, instance_id, g.user)
    inbox.mark_read(session, instance_id, g.user.id)  # a CC to the viewer is now read
    session.commit()
    return render_approval(session, visible)


def _user(form: MultiDict[str, str]) -> uuid.UUID:
    try:
        return uuid.UUID(form.get("user_id", ""))
    except ValueError:
        raise ValidationFailed(
            N_("Some fields need attention."), errors={"user_id": [N_("Choose a staff member.")]}
        ) from None


def _perform(
    session: Session,
    op: str,
    instance_id: uuid.UUID,
    actor: actions.Actor,
    note: actions.Note,
    form: MultiDict[str, str],
) -> None:
    if op == "approve":
        actions.approve(session, instance_id, actor, note)
    elif op == "reject":
        actions.reject(session, instance_id, actor, note)
    elif op == "send_back":
        actions.send_back(session, instance_id, actor, form.get("to", ""), note)
    elif op == "transfer":
        actions.transfer(session, instance_id, actor, _user(form), note)
    elif op == "add_signer":
        before = form.get("where", "before") != "after"
        actions.add_signer(session, instance_id, actor, _user(form), before=before, note=note)
    elif op == "withdraw":
        actions.withdraw(session, instance_id, actor, note)
    else:
        actions.comment(session, instance_id, actor, note)


@bp.post("/<uuid:instance_id>/act", endpoint="act")
@login_required
def approval_act(instance_id: uuid.UUID) -> Any:
    """Do ``op`` (a field of the form) on the approval, with the form's comment and files."""
    session = extension.session()
    op = request.form.get("op", "")
    if op not in DONE:
        abort(400)
    visible = view.open_approval(session, instance_id, g.user)  # 404 before reading files
    page = url_for("tenant.approvals.detail", instance_id=instance_id)
    back = sign_in.safe_next(request.form["next"]) if request.form.get("next") else page
    store = storage()
    kept: list[Attachment] = []
    try:
        kept = files.keep(
            session,
            store,
            request.files.getlist("files"),
            user_id=g.user.id,
            max_size=extension.get().settings.attachment_max_size,
        )
        note = actions.Note(request.form.get("comment", ""), tuple(str(r.id) for r in kept))
        _perform(session, op, instance_id, visible.actor, note, request.form)
    except ValidationFailed as problem:
        session.rollback()
        files.forget(store, kept)
        errors = FormErrors()
        errors.update(problem, rename={"attachment_ids": "files"})
        visible = view.open_approval(session, instance_id, g.user)
        return render_approval(
            session, visible, op=op, errors=errors, posted=request.form, code=422
        )
    except (Conflict, Forbidden) as problem:
        # someone decided first, or it is not (or no longer) the viewer's to do: say so on
        # the page as it is now
        session.rollback()
        files.forget(store, kept)
        flash(gettext(problem.message, **problem.params), "error")
        return redirect(page, 303)
    except StorageError:
        session.rollback()
        files.forget(store, kept)
        flash(gettext("The file could not be stored; try again later."), "error")
        return redirect(page, 303)
    session.commit()
    flash(str(DONE[op]), "success")
    return redirect(back, 303)


@bp.get("/<uuid:instance_id>/files/<uuid:attachment_id>", endpoint="file")
@login_required
def approval_file(instance_id: uuid.UUID, attachment_id: uuid.UUID) -> Any:
    """A file attached on this approval, to whoever may open the approval."""
    session = extension.session()
    view.open_approval(session, instance_id, g.user)
    attached = {
        str(i)
        for ids in session.scalars(
            select(FlowAction.attachment_ids).where(FlowAction.instance_id == instance_id)
        )
        for i in ids or ()
    }
    found = session.scalar(
        select(Attachment).where(
            Attachment.id == attachment_id, Attachment.record_type == view.FLOW_FILES
        )
    )
    if found is None or str(attachment_id) not in attached:
        abort(404)
    inline = request.args.get("inline") == "1" and found.content_type.startswith("image/")
    return attachment_views.send(found, inline=inline)
