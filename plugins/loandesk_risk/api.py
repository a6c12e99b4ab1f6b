"""``/api/v1/risk``: the rule set of a record type (draft, publish, versions) for staff with
``risk.manage``, and the decisions made on an application for anyone who may read it."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from loandesk import sdk
from loandesk_risk import backtests, reviews, service
from loandesk_risk.schemas import (
    RiskBackTestArgs,
    RiskBackTestSchema,
    RiskDecisionSchema,
    RiskDefinitionSchema,
    RiskDraftSchema,
    RiskExplanationSchema,
    RiskPublishArgs,
    RiskReviewRequestArgs,
    RiskReviewRequestSchema,
    RiskVersionSchema,
)

blp = Blueprint(
    "risk",
    __name__,
    url_prefix="/risk",
    description="Risk rules (风控规则): rule sets and scorecards, versions, and the decision "
    "made on each application at its submission.",
)

RECORD_TYPES = ("application",)


def _manager(record_type: str) -> sdk.Form:
    """The form of ``record_type`` for a staff member who manages risk rules."""
    sdk.acting_user_with("risk.manage")
    if record_type not in RECORD_TYPES:
        raise sdk.NotFound(sdk.N_("No such record type."))
    return sdk.current_form(record_type)


def _draft(record_type: str) -> dict[str, Any]:
    found = service.rule_set(sdk.session(), record_type)
    return {
        **service.draft(sdk.session(), record_type),
        "record_type": record_type,
        "published": found.published if found else 0,
        "updated_at": found.updated_at if found else None,
    }


@blp.route("/rule-sets/<record_type>/draft")
class Draft(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, RiskDraftSchema)
    def get(self, record_type: str) -> dict[str, Any]:
        """The draft rule set (empty before the first save)."""
        _manager(record_type)
        return _draft(record_type)

    @sdk.require_token("records:write")
    @blp.arguments(RiskDefinitionSchema)
    @blp.response(200, RiskDraftSchema)
    @blp.alt_response(422, description="A problem, named by its place: rules.3.expression")
    def put(self, args: dict[str, Any], record_type: str) -> dict[str, Any]:
        """Replace the draft; it decides nothing until published."""
        form = _manager(record_type)
        service.save_draft(sdk.session(), form, args, user_id=sdk.acting_user().id)
        sdk.session().commit()
        return _draft(record_type)


@blp.route("/rule-sets/<record_type>/publish")
class Publish(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(RiskPublishArgs)
    @blp.response(201, RiskVersionSchema)
    def post(self, args: dict[str, Any], record_type: str) -> Any:
        """Publish the draft as the next version: applications submitted from now on are
        decided by it; decisions already made keep theirs."""
        form = _manager(record_type)
        version = service.publish(
            sdk.session(), form, user_id=sdk.acting_user().id, note=args["note"]
        )
        sdk.session().commit()
        return version


@blp.route("/rule-sets/<record_type>/versions")
class Versions(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, RiskVersionSchema(many=True))
    def get(self, record_type: str) -> Any:
        """Published versions, newest first."""
        _manager(record_type)
        return service.versions(sdk.session(), record_type)


@blp.route("/rule-sets/<record_type>/versions/<int:number>")
class Version(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, RiskVersionSchema)
    def get(self, record_type: str, number: int) -> Any:
        """One published version."""
        _manager(record_type)
        return service.version(sdk.session(), record_type, number)


@blp.route("/applications/<uuid:application_id>/decisions")
class Decisions(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, RiskDecisionSchema(many=True))
    def get(self, application_id: uuid.UUID) -> Any:
        """The decisions made on an application, newest first (404 outside the acting staff
        member's data scope)."""
        access = sdk.record_access("application")
        model: Any = access.record_type.model
        access.check_record(sdk.session().scalar(select(model).where(model.id == application_id)))
        return service.decisions_of(sdk.session(), "application", application_id)


def _readable(decision_id: uuid.UUID) -> tuple[Any, Any]:
    """The decision and its record, 404 outside the acting staff member's data scope."""
    found = reviews.decision(sdk.session(), decision_id)
    access = sdk.record_access(found.record_type)
    model: Any = access.record_type.model
    record = access.check_record(
        sdk.session().scalar(select(model).where(model.id == found.record_id))
    )
    return found, record


@blp.route("/decisions/<uuid:decision_id>")
class DecisionDetail(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, RiskDecisionSchema)
    def get(self, decision_id: uuid.UUID) -> Any:
        """One decision: inputs, hits, scores, grade, version, and any review request."""
        return _readable(decision_id)[0]


@blp.route("/decisions/<uuid:decision_id>/explanation")
class Explanation(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, RiskExplanationSchema)
    def get(self, decision_id: uuid.UUID) -> dict[str, Any]:
        """The main reasons of the decision in plain words for the borrower (PIPL art. 24),
        from the reason texts of the rules that rejected or referred."""
        found, _ = _readable(decision_id)
        told = reviews.explanation(found)
        return {
            "decision_id": found.id,
            "outcome": found.outcome,
            "decided_at": found.decided_at,
            "reasons": told.reasons,
            "text_zh": told.text_zh,
            "text_en": told.text_en,
            "review_requested_at": found.review_requested_at,
        }


@blp.route("/decisions/<uuid:decision_id>/review-request")
class ReviewRequest(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(RiskReviewRequestArgs)
    @blp.response(201, RiskReviewRequestSchema)
    @blp.alt_response(409, description="Already requested, or a newer decision exists")
    def post(self, args: dict[str, Any], decision_id: uuid.UUID) -> dict[str, Any]:
        """Record the borrower's request for a person to decide (人工复核请求): the flow sees
        ``refer`` from now on, and an application the rules rejected goes into approval
        again. Audited as ``risk.review_request``."""
        found, record = _readable(decision_id)
        reopened = reviews.request_review(
            sdk.session(),
            sdk.current_form(found.record_type),
            record,
            found,
            user_id=sdk.acting_user().id,
            **args,
        )
        sdk.session().commit()
        return {"decision": found, "reopened": reopened}


def _back_test(test: Any) -> dict[str, Any]:
    fields = ("id", "label", "since", "until", "state", "total", "done", "rows", "job_id")
    return {
        **{name: getattr(test, name) for name in fields},
        "created_at": test.created_at,
        "finished_at": test.finished_at,
        "summary": backtests.summary(test),
    }


@blp.route("/rule-sets/<record_type>/back-tests")
class BackTests(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(RiskBackTestArgs)
    @blp.response(201, RiskBackTestSchema)
    def post(self, args: dict[str, Any], record_type: str) -> dict[str, Any]:
        """Run the draft (or version ``source``) over the stored decisions made between
        ``since`` and ``until``: done at once for a few hundred, otherwise queued as the job
        ``risk.back_test`` (``state`` queued; read it again for progress and results)."""
        form = _manager(record_type)
        test = backtests.start(sdk.session(), form, user_id=sdk.acting_user().id, **args)
        sdk.session().commit()
        if test.state == "queued":
            test = backtests.queue(sdk.session(), test.id)
            sdk.session().commit()
        return _back_test(test)


@blp.route("/rule-sets/<record_type>/back-tests/<uuid:back_test_id>")
class BackTest(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, RiskBackTestSchema)
    def get(self, record_type: str, back_test_id: uuid.UUID) -> dict[str, Any]:
        """A back-test: its progress, the old x new outcome counts, the approve rates."""
        _manager(record_type)
        return _back_test(backtests.get(sdk.session(), back_test_id))
