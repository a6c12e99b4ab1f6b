"""``/api/v1/notifications``: the tenant's quiet hours for messages to borrowers, and the log of
those messages (sent, waiting or failed) with sending a failed one again. Reading needs
``notifications:read``, changing ``notifications:write``. Addresses are only ever masked."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loandesk import extension
from loandesk.api.schemas import PageArgs, page_of
from loandesk.auth.oauth import require_token
from loandesk.db import utcnow
from loandesk.notifications import message_log, quiet, service
from loandesk.notifications.models import Message
from loandesk.tenancy import current

blp = Blueprint(
    "api_notifications",
    __name__,
    url_prefix="/notifications",
    description="Quiet hours (免打扰时段) for messages to borrowers, and the log of every "
    "message to a borrower (借款人消息记录): what was sent, what waits, what failed.",
)

HH_MM = "Local time in the tenant's timezone, HH:MM"


class QuietHoursSchema(ma.Schema):
    start = ma.fields.String(
        required=True,
        metadata={"description": f"{HH_MM}: from then on messages to borrowers wait"},
    )
    end = ma.fields.String(
        required=True,
        metadata={
            "description": f"{HH_MM}: then they go. Before start: over midnight; "
            "equal to start: no quiet hours"
        },
    )
    timezone = ma.fields.String(dump_only=True, metadata={"description": "The tenant's timezone"})
    active = ma.fields.Boolean(
        dump_only=True, metadata={"description": "False when start equals end: no quiet hours"}
    )


class MessageArgs(PageArgs):
    state = ma.fields.String(
        load_default="",
        validate=validate.OneOf(("", *message_log.STATES)),
        metadata={
            "description": "pending (waiting), held (waiting for the end of the quiet hours), "
            "sent or failed"
        },
    )
    channel = ma.fields.String(
        load_default="", validate=validate.Length(max=40), metadata={"description": "e.g. sms"}
    )
    record_type = ma.fields.String(
        load_default="", validate=validate.Length(max=40), metadata={"description": "e.g. loan"}
    )
    record_id = ma.fields.String(load_default="", validate=validate.Length(max=64))
    created_from = ma.fields.Date(
        load_default=None, metadata={"description": "Written on or after (tenant's date)"}
    )
    created_to = ma.fields.Date(
        load_default=None, metadata={"description": "Written on or before (tenant's date)"}
    )


class MessageSchema(ma.Schema):
    id = ma.fields.UUID()
    created_at = ma.fields.DateTime(metadata={"description": "When it was written, UTC"})
    channel = ma.fields.String()
    address_masked = ma.fields.String(metadata={"description": "e.g. 138****8000"})
    subject = ma.fields.String()
    body = ma.fields.String(metadata={"description": "The text as sent"})
    locale = ma.fields.String()
    urgent = ma.fields.Boolean(metadata={"description": "Sent through the quiet hours"})
    record_type = ma.fields.String(allow_none=True)
    record_id = ma.fields.String(allow_none=True)
    state = ma.fields.String(metadata={"description": "pending, sent or failed"})
    attempts = ma.fields.Integer(metadata={"description": "Sending attempts so far"})
    last_error = ma.fields.String(metadata={"description": "Why the last attempt failed"})
    held_until = ma.fields.DateTime(
        allow_none=True, metadata={"description": "Held by the quiet hours until then, UTC"}
    )
    next_attempt_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "After a failed attempt, the next one, UTC"}
    )
    sent_at = ma.fields.DateTime(allow_none=True)
    provider_id = ma.fields.String(metadata={"description": "The provider's id for it"})
    delivery = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "The provider's receipt: delivered or undelivered to the handset; "
            "null until one came"
        },
    )
    delivered_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "When it reached (or failed at) the handset"}
    )
    delivery_detail = ma.fields.String(
        metadata={"description": "The receipt's status code and words (DELIVERED, ...)"}
    )
    template_key = ma.fields.String(
        allow_none=True, metadata={"description": "The SMS template it was sent with, or null"}
    )
    template_code = ma.fields.String(
        allow_none=True, metadata={"description": "The provider's code for that template"}
    )
    template_params = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        allow_none=True,
        metadata={"description": "The template's params, in placeholder order"},
    )


MessagePage = page_of(MessageSchema, "MessagePage")


def _hours() -> dict[str, Any]:
    hours = quiet.hours_of(extension.session())
    return {
        "start": f"{hours.start:%H:%M}",
        "end": f"{hours.end:%H:%M}",
        "timezone": current().timezone,
        "active": hours.start != hours.end,
    }


def _dump(message: Message) -> dict[str, Any]:
    now = utcnow()
    return {
        **{
            name: getattr(message, name)
            for name in MessageSchema().fields
            if hasattr(Message, name)
        },
        "held_until": message_log.held_until(message, now),
        "next_attempt_at": message_log.next_attempt_at(message, now),
    }


@blp.route("/quiet-hours")
class QuietHoursResource(MethodView):
    @require_token("notifications:read")
    @blp.response(200, QuietHoursSchema)
    def get(self) -> dict[str, Any]:
        """The quiet hours: messages to borrowers that are not urgent wait through them."""
        return _hours()

    @require_token("notifications:write")
    @blp.arguments(QuietHoursSchema)
    @blp.response(200, QuietHoursSchema)
    @blp.alt_response(422, description="A time that is not HH:MM, named by its field")
    def put(self, args: dict[str, Any]) -> dict[str, Any]:
        """Set the quiet hours (start equal to end: none). Audited; messages already held keep
        their time."""
        quiet.set_hours(extension.session(), args["start"], args["end"])
        extension.session().commit()
        return _hours()


@blp.route("/messages")
class Messages(MethodView):
    @require_token("notifications:read")
    @blp.arguments(MessageArgs, location="query")
    @blp.response(200, MessagePage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Messages to borrowers, newest first, filtered, a page at a time."""
        log_filter = message_log.LogFilter(
            **{k: args[k] for k in ("state", "channel", "record_type", "record_id")},
            created_from=args["created_from"],
            created_to=args["created_to"],
        )
        found = message_log.search(
            extension.session(),
            log_filter,
            current().timezone,
            now=utcnow(),
            page=args["page"],
            per_page=args["per_page"],
        )
        return {
            "items": [_dump(m) for m in found.items],
            "page": found.page,
            "per_page": found.per_page,
            "total": found.total,
        }


@blp.route("/messages/<uuid:message_id>")
class OneMessage(MethodView):
    @require_token("notifications:read")
    @blp.response(200, MessageSchema)
    @blp.alt_response(404, description="No such message to a borrower")
    def get(self, message_id: uuid.UUID) -> dict[str, Any]:
        """One message to a borrower."""
        return _dump(message_log.get(extension.session(), message_id))


@blp.route("/messages/<uuid:message_id>/retry")
class Retry(MethodView):
    @require_token("notifications:write")
    @blp.response(200, MessageSchema)
    @blp.alt_response(409, description="The message has not failed")
    def post(self, message_id: uuid.UUID) -> dict[str, Any]:
        """Send a failed message again: back to pending with a fresh set of attempts; one that
        is not urgent waits out the quiet hours. Audited."""
        session = extension.session()
        message = service.retry(
            session, message_log.get(session, message_id), timezone=current().timezone
        )
        session.commit()
        return _dump(message)
