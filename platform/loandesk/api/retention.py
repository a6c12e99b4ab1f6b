"""``/api/v1/retention``: how long the tenant keeps each record type's personal data."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from loandesk import extension
from loandesk.auth.oauth import require_token
from loandesk.pii.retention import RetentionSubject
from loandesk.plugins import runtime
from loandesk.privacy import retention
from loandesk.tenancy import current

blp = Blueprint(
    "api_retention",
    __name__,
    url_prefix="/retention",
    description="Retention periods (保存期限) of personal data, per record type.",
)


class PeriodSchema(ma.Schema):
    record_type = ma.fields.String(metadata={"description": "The retention subject's key"})
    label_zh = ma.fields.String()
    label_en = ma.fields.String()
    clock_zh = ma.fields.String(metadata={"description": "What starts the clock"})
    clock_en = ma.fields.String()
    minimum_days = ma.fields.Integer(metadata={"description": "The shortest period allowed"})
    basis = ma.fields.String(metadata={"description": "The law that sets the minimum"})
    is_set = ma.fields.Boolean(
        metadata={"description": "False until a period is chosen; until then nothing is erased"}
    )
    days = ma.fields.Integer(
        allow_none=True, metadata={"description": "Days kept after the clock starts; null: forever"}
    )
    due_now = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "Records the next run would anonymise (null: none is planned)"},
    )
    last_run_at = ma.fields.AwareDateTime(allow_none=True)
    last_run_anonymised = ma.fields.Integer()


class RetentionSchema(ma.Schema):
    record_types = ma.fields.List(ma.fields.Nested(PeriodSchema))


class RetentionUpdateSchema(ma.Schema):
    periods = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(allow_none=True, strict=True),
        required=True,
        metadata={
            "description": "Record type → days (at least its minimum), or null to keep forever; "
            "record types left out keep their period"
        },
    )


def _available() -> list[RetentionSubject]:
    return retention.subjects(runtime.host(), runtime.enabled())


def _dump() -> dict[str, Any]:
    session = extension.session()
    available = _available()
    due = {
        r.record_type: r.due
        for r in retention.run(session, available, timezone=current().timezone, dry_run=True)
    }
    return {
        "record_types": [
            {
                "record_type": p.subject.key,
                "label_zh": p.subject.label_zh,
                "label_en": p.subject.label_en,
                "clock_zh": p.subject.clock_zh,
                "clock_en": p.subject.clock_en,
                "minimum_days": p.shortest,
                "basis": p.subject.basis,
                "is_set": p.is_set,
                "days": p.days,
                "due_now": due.get(p.subject.key),
                "last_run_at": p.last_run_at,
                "last_run_anonymised": p.last_run_anonymised,
            }
            for p in retention.periods(session, available)
        ]
    }


@blp.route("")
class Retention(MethodView):
    @require_token("privacy:read")
    @blp.response(200, RetentionSchema)
    def get(self) -> dict[str, Any]:
        """List retention periods

        Every record type with personal data that this tenant's modules keep, with its period,
        its legal minimum, and how many records are due for anonymising now.
        """
        return _dump()

    @require_token("privacy:write")
    @blp.arguments(RetentionUpdateSchema)
    @blp.response(200, RetentionSchema)
    def put(self, args: dict[str, Any]) -> dict[str, Any]:
        """Set retention periods

        `{"periods": {"core.data_request": 1095, "crm.customer": null}}`: days, or null to
        keep forever; record types left out keep their period. A 422 names each record type
        whose period is shorter than its minimum, or that this tenant's modules do not have;
        then nothing changes. The daily job anonymises what is due at 03:30 tenant time.
        """
        retention.set_periods(extension.session(), _available(), args["periods"])
        extension.session().commit()
        return _dump()
