"""``/api/v1/data-requests``: data-subject requests (个人信息权利请求) and their deadline."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loandesk import extension, pii
from loandesk.api.schemas import PageArgs, page_of
from loandesk.auth.oauth import require_token
from loandesk.pii.keys import Keyring
from loandesk.privacy import requests as service
from loandesk.privacy import search as finder
from loandesk.privacy.models import KINDS, STATUSES, DataRequest
from loandesk.tenancy import current

blp = Blueprint(
    "api_data_requests",
    __name__,
    url_prefix="/data-requests",
    description="Data-subject requests (个人信息权利请求): a person asks to see, correct or "
    "delete their personal data; each request is tracked to its answer by a due date.",
)


class HandlerSchema(ma.Schema):
    id = ma.fields.UUID()
    display_name = ma.fields.String()


class SubjectSchema(ma.Schema):
    name = ma.fields.String(allow_none=True)
    id_number = ma.fields.String(allow_none=True)
    mobile = ma.fields.String(allow_none=True)


class ChangeSchema(ma.Schema):
    at = ma.fields.AwareDateTime()
    from_status = ma.fields.String(allow_none=True, metadata={"description": "null: created"})
    to_status = ma.fields.String()
    note = ma.fields.String()
    actor_kind = ma.fields.String()
    actor_label = ma.fields.String(allow_none=True)


class DataRequestSchema(ma.Schema):
    id = ma.fields.UUID()
    number = ma.fields.Integer(metadata={"description": "1, 2, 3, ... per tenant"})
    kind = ma.fields.String(metadata={"description": "access, correction, deletion or other"})
    status = ma.fields.String(
        metadata={"description": "received, in_progress, completed or refused"}
    )
    received_on = ma.fields.Date()
    due_on = ma.fields.Date()
    overdue = ma.fields.Boolean(metadata={"description": "Open and past its due date"})
    handler = ma.fields.Nested(HandlerSchema, allow_none=True)
    subject = ma.fields.Nested(
        SubjectSchema, metadata={"description": "Masked; null fields were not given"}
    )
    notes = ma.fields.String()
    outcome = ma.fields.String(metadata={"description": "The refusal's reason, or what was done"})
    created_at = ma.fields.AwareDateTime()
    closed_at = ma.fields.AwareDateTime(allow_none=True)
    anonymised_at = ma.fields.AwareDateTime(allow_none=True)


class DataRequestDetailSchema(DataRequestSchema):
    history = ma.fields.List(ma.fields.Nested(ChangeSchema))


class DataRequestCreateSchema(ma.Schema):
    kind = ma.fields.String(required=True, metadata={"description": ", ".join(KINDS)})
    subject_name = ma.fields.String(required=True)
    subject_id_number = ma.fields.String(
        load_default=None, allow_none=True, metadata={"description": "18-character resident ID"}
    )
    subject_mobile = ma.fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "Mainland mobile; give it, the ID number, or both"},
    )
    received_on = ma.fields.Date(load_default=None, metadata={"description": "Default: today"})
    due_on = ma.fields.Date(
        load_default=None,
        metadata={"description": "Default: received_on + the tenant's data_request_due_days"},
    )
    handler_id = ma.fields.UUID(load_default=None, allow_none=True)
    notes = ma.fields.String(load_default="")


class DataRequestUpdateSchema(ma.Schema):
    subject_name = ma.fields.String()
    subject_id_number = ma.fields.String(allow_none=True)
    subject_mobile = ma.fields.String(allow_none=True)
    due_on = ma.fields.Date()
    handler_id = ma.fields.UUID(allow_none=True)
    notes = ma.fields.String()


class TransitionSchema(ma.Schema):
    status = ma.fields.String(
        required=True, validate=validate.OneOf(["in_progress", "completed", "refused"])
    )
    note = ma.fields.String(
        load_default="", metadata={"description": "Required when refusing: the reason"}
    )


class FilterArgs(PageArgs):
    status = ma.fields.String(load_default="", validate=validate.OneOf(["", "open", *STATUSES]))
    kind = ma.fields.String(load_default="", validate=validate.OneOf(["", *KINDS]))
    overdue = ma.fields.Boolean(load_default=False)
    handler_id = ma.fields.UUID(load_default=None)
    received_from = ma.fields.Date(load_default=None)
    received_to = ma.fields.Date(load_default=None)


class SearchSchema(FilterArgs):
    subject = ma.fields.String(
        required=True,
        metadata={"description": "The whole name, ID number or mobile number (exact match)"},
    )


class SettingsSchema(ma.Schema):
    data_request_due_days = ma.fields.Integer(
        required=True,
        strict=True,
        metadata={"description": "Days from receipt to the default due date, 1-30"},
    )


def _today() -> Any:
    return service.local_today(current().timezone)


def _dump(request: DataRequest, keys: Keyring, *, with_history: bool = False) -> dict[str, Any]:
    subject = finder.masked_subject(request, keys)
    data: dict[str, Any] = {
        "id": request.id,
        "number": request.number,
        "kind": request.kind,
        "status": request.status,
        "received_on": request.received_on,
        "due_on": request.due_on,
        "overdue": request.is_overdue(_today()),
        "handler": request.handler,
        "subject": {
            "name": subject["subject_name"],
            "id_number": subject["subject_id_number"],
            "mobile": subject["subject_mobile"],
        },
        "notes": request.notes,
        "outcome": request.outcome,
        "created_at": request.created_at,
        "closed_at": request.closed_at,
        "anonymised_at": request.anonymised_at,
    }
    if with_history:
        data["history"] = service.history(extension.session(), request)
    return data


def _page(args: dict[str, Any], subject: str = "") -> dict[str, Any]:
    page, per_page = args.pop("page"), args.pop("per_page")
    keys = pii.for_current_tenant()
    result = finder.search(
        extension.session(),
        keys,
        finder.RequestFilter(subject=subject, **args),
        today=_today(),
        page=page,
        per_page=per_page,
    )
    return {
        "items": [_dump(item, keys) for item in result.items],
        "page": result.page,
        "per_page": result.per_page,
        "total": result.total,
    }


@blp.route("")
class DataRequests(MethodView):
    @require_token("data-requests:read")
    @blp.arguments(FilterArgs, location="query")
    @blp.response(200, page_of(DataRequestSchema, "DataRequestPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List requests

        Open ones first (the nearest due date on top), then closed ones. To find a person's
        requests, use `POST /data-requests/search`: personal data never goes into a URL (URLs
        end up in access logs).
        """
        return _page(args)

    @require_token("data-requests:write")
    @blp.arguments(DataRequestCreateSchema)
    @blp.response(201, DataRequestDetailSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Record a request

        The person's name and their ID number or mobile number (or both) are required; an
        invalid ID number or mobile number is a 422 naming the field. The due date defaults to
        the date received plus the tenant's `data_request_due_days`.
        """
        keys = pii.for_current_tenant()
        request = service.create_request(extension.session(), keys, today=_today(), **args)
        extension.session().commit()
        return _dump(request, keys, with_history=True)


@blp.route("/search")
class DataRequestSearch(MethodView):
    @require_token("data-requests:read")
    @blp.arguments(SearchSchema)
    @blp.response(200, page_of(DataRequestSchema, "DataRequestSearchPage"))
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Find a person's requests

        By the exact name, ID number or mobile number (found by keyed hash, never by
        decrypting), with the same filters as the list. A partial number is a 422: it could
        never match.
        """
        subject = args.pop("subject")
        return _page(args, subject)


@blp.route("/<uuid:request_id>")
class DataRequestById(MethodView):
    @require_token("data-requests:read")
    @blp.response(200, DataRequestDetailSchema)
    def get(self, request_id: uuid.UUID) -> dict[str, Any]:
        """Get one request with its history"""
        request = service.get_request(extension.session(), request_id)
        return _dump(request, pii.for_current_tenant(), with_history=True)

    @require_token("data-requests:write")
    @blp.arguments(DataRequestUpdateSchema)
    @blp.response(200, DataRequestDetailSchema)
    @blp.alt_response(409, description="The request was anonymised")
    def patch(self, args: dict[str, Any], request_id: uuid.UUID) -> dict[str, Any]:
        """Change a request

        Correct the person's data, change the handler (an active user who may handle data
        requests), the due date or the notes. Personal values are audited as changed, never
        with their values.
        """
        keys = pii.for_current_tenant()
        request = service.get_request(extension.session(), request_id)
        service.update_request(extension.session(), keys, request, **args)
        extension.session().commit()
        return _dump(request, keys, with_history=True)


@blp.route("/<uuid:request_id>/transitions")
class DataRequestTransitions(MethodView):
    @require_token("data-requests:write")
    @blp.arguments(TransitionSchema)
    @blp.response(200, DataRequestDetailSchema)
    @blp.alt_response(409, description="The request's status does not allow this step")
    def post(self, args: dict[str, Any], request_id: uuid.UUID) -> dict[str, Any]:
        """Move a request to its next status

        `in_progress` (from received), `completed` or `refused` (from received or in progress);
        a refusal needs its reason in `note`. 409 when the current status does not allow it.
        """
        request = service.get_request(extension.session(), request_id)
        service.transition(extension.session(), request, args["status"], note=args["note"])
        extension.session().commit()
        return _dump(request, pii.for_current_tenant(), with_history=True)


@blp.route("/settings")
class DataRequestSettings(MethodView):
    @require_token("privacy:read")
    @blp.response(200, SettingsSchema)
    def get(self) -> Any:
        """Get the default deadline

        How many days after receipt a new request is due.
        """
        return service.get_settings(extension.session())

    @require_token("privacy:write")
    @blp.arguments(SettingsSchema)
    @blp.response(200, SettingsSchema)
    def put(self, args: dict[str, Any]) -> Any:
        """Change the default deadline

        1 to 30 days; requests already recorded keep their due dates.
        """
        settings = service.update_settings(extension.session(), **args)
        extension.session().commit()
        return settings
