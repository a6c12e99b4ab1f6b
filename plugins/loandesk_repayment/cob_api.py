"""``/api/v1/loans/cob-runs``: close of business (日终批处理) runs — their progress, and an
admin's "run close of business for date X", on the repayment plugin's blueprint. Thin
adapters over ``cob``."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from loandesk import sdk
from loandesk_repayment import cob
from loandesk_repayment.api import blp
from loandesk_repayment.cob_models import CobRun
from loandesk_repayment.schemas import Amount


class CobRunSchema(ma.Schema):
    id = ma.fields.UUID()
    business_date = ma.fields.Date()
    previous_date = ma.fields.Date(allow_none=True)
    state = ma.fields.String(metadata={"description": "running, done or superseded"})
    loans_total = ma.fields.Integer(metadata={"description": "Active loans to take at start"})
    loans_done = ma.fields.Integer()
    chunks_done = ma.fields.Integer()
    installments_overdue = ma.fields.Integer(metadata={"description": "Newly overdue"})
    bucket_changes = ma.fields.Integer()
    penalty_posted = Amount
    attempts = ma.fields.Integer()
    requested_by_id = ma.fields.UUID(allow_none=True)
    started_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)


class CobRunListSchema(ma.Schema):
    business_date = ma.fields.Date(
        allow_none=True, metadata={"description": "The tenant's business date (last done)"}
    )
    items = ma.fields.List(ma.fields.Nested(CobRunSchema))
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()


class CobRunWriteSchema(ma.Schema):
    business_date = ma.fields.Raw(
        required=True, metadata={"description": "ISO date: the business date to bring loans to"}
    )


@blp.route("/cob-runs")
class CobRuns(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(sdk.PageArgs, location="query")
    @blp.response(200, CobRunListSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Close of business runs, latest business date first, with their progress."""
        sdk.acting_user_with("repayment.view")
        session = sdk.session()
        page, per_page = args["page"], args["per_page"]
        found = cob.runs(session, limit=per_page, offset=(page - 1) * per_page)
        return {
            "business_date": cob.business_date(session),
            "items": found,
            "page": page,
            "per_page": per_page,
        }

    @sdk.require_token("records:write")
    @blp.arguments(CobRunWriteSchema)
    @blp.response(202, CobRunSchema)
    @blp.alt_response(200, description="That date's run is done already: it, unchanged")
    @blp.alt_response(409, description="A later business date has been run already")
    @blp.alt_response(422, description="business_date (not a date, or in the future)")
    def post(self, args: dict[str, Any]) -> Any:
        """Run close of business for ``business_date`` (idempotent: a date run already
        answers its run; an unfinished one is resumed from its checkpoint)."""
        sdk.acting_user_with("repayment.cob")
        session = sdk.session()
        run: CobRun = cob.queue(session, args["business_date"], requested_by=sdk.acting_user().id)
        session.commit()
        if run.state != "running":
            return run, 200
        cob.enqueue(run)
        return run
