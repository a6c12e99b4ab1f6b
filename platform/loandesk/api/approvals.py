"""``/api/v1/approvals``: the approval center (审批中心) of the staff member the API client acts
for — their boxes and counts, one approval with its steps and timeline and what they may do
now, and the operations themselves. Reading needs ``approvals:read``, acting
``approvals:write``; who may do what is the engine's call (``loandesk.flows.actions``).
An approval the staff member takes no part in and whose record they may not read is 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask.views import MethodView
from flask_babel import gettext
from flask_smorest import Blueprint

from loandesk import extension
from loandesk.api.approval_schemas import (
    AddSignerArgs,
    BulkArgs,
    BulkResults,
    CountsSchema,
    FileSchema,
    InboxArgs,
    InboxPage,
    InstanceSchema,
    NoteArgs,
    SendBackArgs,
    TransferArgs,
)
from loandesk.api.approval_view import file_dict, inbox_item, instance_view
from loandesk.api.attachments import UploadFileSchema
from loandesk.auth.oauth import require_token
from loandesk.auth.users import display_names
from loandesk.errors import NotFound, ValidationFailed
from loandesk.flows import actions, files, inbox, viewer
from loandesk.flows.actions import Actor, Note
from loandesk.flows.engine import Run
from loandesk.i18n import N_
from loandesk.plugins import runtime as plugin_runtime
from loandesk.rbac.current import acting_user, record_access
from loandesk.storage import storage
from loandesk.tenancy import current

MANAGE = "flows.manage"

blp = Blueprint(
    "api_approvals",
    __name__,
    url_prefix="/approvals",
    description="Approvals (审批) of the staff member the client acts for: the to-do, done, "
    "submitted and CC boxes; one approval with its steps, timeline and the operations open "
    "now; approve, reject, send back (退回), transfer (转办), add a signer (加签), withdraw "
    "(撤回), comment, bulk approve. A decision someone else has already made answers 409.",
)


def _actor() -> Actor:
    user = acting_user()
    return Actor(user.id, can_manage=user.can(MANAGE))


def _visible(instance_id: uuid.UUID, actor: Actor) -> Run:
    return viewer.visible_run(
        extension.session(), instance_id, actor, plugin_runtime.record_type, record_access
    )


@blp.route("")
class Inbox(MethodView):
    @require_token("approvals:read")
    @blp.arguments(InboxArgs, location="query")
    @blp.response(200, InboxPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """One box of the staff member's approvals.

        Filtered, a page at a time: newest first (to do: oldest first, as a queue).
        """
        session = extension.session()
        user_id = acting_user().id
        which = args.pop("box")
        page, per_page = args.pop("page"), args.pop("per_page")
        filters = inbox.Filters(**args, timezone=current().timezone)
        found = inbox.box(session, user_id, which, filters, page=page, per_page=per_page)
        names = display_names(session, list({i.instance.submitter_id for i in found.items}))
        return {
            "items": [inbox_item(i, names) for i in found.items],
            "page": found.page,
            "per_page": found.per_page,
            "total": found.total,
        }


@blp.route("/counts")
class Counts(MethodView):
    @require_token("approvals:read")
    @blp.response(200, CountsSchema)
    def get(self) -> dict[str, int]:
        """Counts for the navigation.

        Tasks waiting for the staff member, CCs not opened yet, own submissions still running.
        """
        return inbox.counts(extension.session(), acting_user().id)


@blp.route("/<uuid:instance_id>")
class Instance(MethodView):
    @require_token("approvals:read")
    @blp.response(200, InstanceSchema)
    @blp.alt_response(404, description="No such approval, or the staff member may not see it")
    def get(self, instance_id: uuid.UUID) -> dict[str, Any]:
        """One approval, as the staff member sees it.

        The record it is about, the submitted values, each step with its tasks, the timeline,
        and what the staff member may do now. Seen by those taking part (submitter, approvers,
        CC, flow managers) and by those whose data scope reaches the record; 404 for anyone
        else. Opening it marks a CC to the staff member as read.
        """
        session = extension.session()
        actor = _actor()
        run = _visible(instance_id, actor)
        inbox.mark_read(session, instance_id, actor.user_id)
        session.commit()
        return instance_view(run, actor)


def _act(
    instance_id: uuid.UUID, args: dict[str, Any], operation: Callable[..., Any]
) -> dict[str, Any]:
    """Run ``operation`` (an ``actions`` function) as the staff member, then answer the
    approval as they now see it."""
    session = extension.session()
    actor = _actor()
    _visible(instance_id, actor)
    note = Note(args.get("comment", ""), tuple(args.get("attachment_ids", ())))
    files.check_ids(session, note.attachment_ids)
    operation(session, instance_id, actor, note)
    session.commit()
    return instance_view(_visible(instance_id, actor), actor)


def _with_note_kw(operation: Callable[..., Any], **kw: Any) -> Callable[..., Any]:
    def call(session: Any, instance_id: uuid.UUID, actor: Actor, note: Note) -> Any:
        return operation(session, instance_id, actor, note=note, **kw)

    return call


_DECIDED = "409: someone else already decided this step, or the approval is finished"


@blp.route("/<uuid:instance_id>/approve")
class Approve(MethodView):
    @require_token("approvals:write")
    @blp.arguments(NoteArgs)
    @blp.response(200, InstanceSchema)
    @blp.alt_response(409, description=_DECIDED)
    def post(self, args: dict[str, Any], instance_id: uuid.UUID) -> dict[str, Any]:
        """Approve.

        Decides the staff member's pending task: 403 when they hold none, 409 when the step was
        already decided or it is not their turn yet in a sequence.
        """
        return _act(instance_id, args, actions.approve)


@blp.route("/<uuid:instance_id>/reject")
class Reject(MethodView):
    @require_token("approvals:write")
    @blp.arguments(NoteArgs)
    @blp.response(200, InstanceSchema)
    @blp.alt_response(409, description=_DECIDED)
    def post(self, args: dict[str, Any], instance_id: uuid.UUID) -> dict[str, Any]:
        """Reject.

        The approval ends rejected (in a ratio step: once the ratio can no longer be reached).
        """
        return _act(instance_id, args, actions.reject)


@blp.route("/<uuid:instance_id>/send-back")
class SendBack(MethodView):
    @require_token("approvals:write")
    @blp.arguments(SendBackArgs)
    @blp.response(200, InstanceSchema)
    @blp.alt_response(409, description=_DECIDED)
    def post(self, args: dict[str, Any], instance_id: uuid.UUID) -> dict[str, Any]:
        """Send back (退回).

        To the submitter, who may change the record and submit it again, or to an earlier
        approver node (`allowed.send_back`), whose approvers decide again; 422 for another target.
        """
        return _act(instance_id, args, _with_note_kw(actions.send_back, to=args["to"]))


@blp.route("/<uuid:instance_id>/transfer")
class Transfer(MethodView):
    @require_token("approvals:write")
    @blp.arguments(TransferArgs)
    @blp.response(200, InstanceSchema)
    @blp.alt_response(409, description=_DECIDED)
    def post(self, args: dict[str, Any], instance_id: uuid.UUID) -> dict[str, Any]:
        """Transfer (转办).

        Hand the staff member's task to `user_id`; a flow manager may also hand a blocked step
        (nobody could be assigned) to someone. 422 for an inactive user, oneself, or someone
        already deciding this step.
        """
        to_user = args["user_id"]
        return _act(instance_id, args, _with_note_kw(actions.transfer, to_user=to_user))


@blp.route("/<uuid:instance_id>/add-signer")
class AddSigner(MethodView):
    @require_token("approvals:write")
    @blp.arguments(AddSignerArgs)
    @blp.response(200, InstanceSchema)
    @blp.alt_response(409, description=_DECIDED)
    def post(self, args: dict[str, Any], instance_id: uuid.UUID) -> dict[str, Any]:
        """Add a signer (加签).

        Someone who must approve too: before the staff member decides (`before: true`), or
        after them (`before: false`, which approves the staff member's task).
        """
        operation = _with_note_kw(
            actions.add_signer, user_id=args["user_id"], before=args["before"]
        )
        return _act(instance_id, args, operation)


@blp.route("/<uuid:instance_id>/withdraw")
class Withdraw(MethodView):
    @require_token("approvals:write")
    @blp.arguments(NoteArgs)
    @blp.response(200, InstanceSchema)
    @blp.alt_response(409, description="An approver already decided, or it is finished")
    def post(self, args: dict[str, Any], instance_id: uuid.UUID) -> dict[str, Any]:
        """Withdraw (撤回).

        The submitter takes the record back before any approver decided: 403 for anyone else,
        409 once an approver decided.
        """
        return _act(instance_id, args, actions.withdraw)


@blp.route("/<uuid:instance_id>/comment")
class Comment(MethodView):
    @require_token("approvals:write")
    @blp.arguments(NoteArgs)
    @blp.response(200, InstanceSchema)
    def post(self, args: dict[str, Any], instance_id: uuid.UUID) -> dict[str, Any]:
        """Comment.

        At any step, with files or not (422 when both are empty), by anyone taking part; it
        decides nothing.
        """
        return _act(instance_id, args, actions.comment)


@blp.route("/bulk-approve")
class BulkApprove(MethodView):
    @require_token("approvals:write")
    @blp.arguments(BulkArgs)
    @blp.response(200, BulkResults)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Approve several at once.

        Each on its own: only where the current node allows bulk approval and the staff member
        holds a pending task. Each result says whether it was approved, and why not.
        """
        session = extension.session()
        actor = _actor()
        note = Note(args["comment"], tuple(args["attachment_ids"]))
        files.check_ids(session, note.attachment_ids)
        hidden: dict[uuid.UUID, str] = {}
        for instance_id in dict.fromkeys(args["ids"]):
            try:
                _visible(instance_id, actor)
            except NotFound as missing:
                hidden[instance_id] = gettext(missing.message)
        done = {
            r.instance_id: r
            for r in actions.bulk_approve(
                session, [i for i in args["ids"] if i not in hidden], actor, note
            )
        }
        session.commit()
        results = []
        for instance_id in dict.fromkeys(args["ids"]):
            if instance_id in hidden:
                results.append({"id": instance_id, "ok": False, "message": hidden[instance_id]})
                continue
            result = done[instance_id]
            message = gettext(result.message) if result.message else ""
            results.append({"id": instance_id, "ok": result.ok, "message": message})
        return {"results": results}


@blp.route("/<uuid:instance_id>/attachments")
class Files(MethodView):
    @require_token("approvals:write")
    @blp.arguments(UploadFileSchema, location="files")
    @blp.response(201, FileSchema)
    def post(self, files_in: dict[str, Any], instance_id: uuid.UUID) -> dict[str, Any]:
        """Upload a file for a comment or decision.

        `multipart/form-data`, field `file`; give the answer's id in `attachment_ids` of the next
        operation. Only those taking part may upload (403); PDF, Office files and images up to
        the install's size limit (422 otherwise). Audited.
        """
        session = extension.session()
        actor = _actor()
        run = _visible(instance_id, actor)
        sent = files_in["file"]
        if not sent.filename:
            raise ValidationFailed(
                N_("Some fields need attention."), errors={"file": [N_("Choose a file to upload.")]}
            )
        max_size = extension.get().settings.attachment_max_size
        row = files.upload(
            session,
            storage(),
            run,
            actor,
            filename=sent.filename or "",
            data=sent.stream.read(max_size + 1),
            max_size=max_size,
        )
        session.commit()
        return file_dict(instance_id, row)


@blp.route("/<uuid:instance_id>/attachments/<uuid:attachment_id>/content")
class FileContent(MethodView):
    @require_token("approvals:read")
    @blp.response(200, description="The file's bytes, with its content type")
    def get(self, instance_id: uuid.UUID, attachment_id: uuid.UUID) -> Any:
        """Download a file of the approval's timeline.

        For anyone who may see the approval (404 otherwise). Audited.
        """
        from loandesk.web.attachment_views import send

        session = extension.session()
        actor = _actor()
        _visible(instance_id, actor)
        return send(files.downloadable(session, instance_id, actor, attachment_id), inline=False)
