"""Schemas of the risk API. A definition's rules and scorecard pass through as JSON and are
checked by ``loandesk_risk.policy.check``, so every problem is named by its place
(``rules.3.expression``) the same way from the API and, later, the web editor."""

from __future__ import annotations

import marshmallow as ma


class RiskDefinitionSchema(ma.Schema):
    rules = ma.fields.Raw(
        load_default=list,
        metadata={
            "description": "Rules in order: key, name_zh, name_en, expression (over the "
            "application's fields), outcome (reject, refer, pass), reason_code, reason_zh, "
            "reason_en"
        },
    )
    scorecard = ma.fields.Raw(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Optional: base, variables (key, missing_points, bins of min, max, "
            "points) and grades (grade, min_score, limit, rate, outcome); numbers as text"
        },
    )


class RiskDraftSchema(RiskDefinitionSchema):
    record_type = ma.fields.String()
    published = ma.fields.Integer(metadata={"description": "The latest version's number"})
    updated_at = ma.fields.DateTime(allow_none=True)


class RiskPublishArgs(ma.Schema):
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class RiskVersionSchema(ma.Schema):
    id = ma.fields.UUID()
    number = ma.fields.Integer()
    note = ma.fields.String()
    published_at = ma.fields.DateTime()
    published_by_id = ma.fields.UUID(allow_none=True)
    definition = ma.fields.Raw()


class RiskDecisionSchema(ma.Schema):
    id = ma.fields.UUID()
    record_id = ma.fields.UUID()
    version_number = ma.fields.Integer()
    outcome = ma.fields.String(metadata={"description": "auto_approve, refer or auto_reject"})
    inputs = ma.fields.Raw(metadata={"description": "Every value the rules and scorecard read"})
    hits = ma.fields.Raw(metadata={"description": "Rules that held: outcome and reasons"})
    scores = ma.fields.Raw(metadata={"description": "Per variable: value, bin, points"})
    total_score = ma.fields.Integer(allow_none=True)
    grade = ma.fields.String(allow_none=True)
    suggested_limit = ma.fields.Decimal(as_string=True, allow_none=True)
    suggested_rate = ma.fields.Decimal(as_string=True, allow_none=True)
    decided_at = ma.fields.DateTime()
    review_requested_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "When the borrower asked for a person"}
    )
    review_requested_by_id = ma.fields.UUID(
        allow_none=True, metadata={"description": "The staff member who recorded the request"}
    )
    review_channel = ma.fields.String(allow_none=True)


class RiskReasonSchema(ma.Schema):
    code = ma.fields.String()
    text_zh = ma.fields.String()
    text_en = ma.fields.String()


class RiskExplanationSchema(ma.Schema):
    decision_id = ma.fields.UUID()
    outcome = ma.fields.String()
    decided_at = ma.fields.DateTime()
    reasons = ma.fields.List(ma.fields.Nested(RiskReasonSchema))
    text_zh = ma.fields.String(metadata={"description": "The whole explanation, for the borrower"})
    text_en = ma.fields.String()
    review_requested_at = ma.fields.DateTime(allow_none=True)


class RiskReviewRequestArgs(ma.Schema):
    channel = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(("phone", "app", "branch", "letter", "email", "other")),
        metadata={
            "description": "How the borrower asked: phone, app, branch, letter, email, other"
        },
    )
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=1000))


class RiskReviewRequestSchema(ma.Schema):
    decision = ma.fields.Nested(RiskDecisionSchema)
    reopened = ma.fields.Boolean(
        metadata={"description": "The rejected application was put into approval again"}
    )


class RiskBackTestArgs(ma.Schema):
    source = ma.fields.String(
        load_default="draft",
        validate=ma.validate.Regexp(r"^(draft|[0-9]{1,6})$"),
        metadata={"description": '"draft" or a published version\'s number'},
    )
    since = ma.fields.Date(
        required=True, metadata={"description": "First day (the tenant's time zone)"}
    )
    until = ma.fields.Date(
        required=True, metadata={"description": "Last day, included (the tenant's time zone)"}
    )


class RiskBackTestSchema(ma.Schema):
    id = ma.fields.UUID()
    label = ma.fields.String(metadata={"description": '"draft" or "v3"'})
    since = ma.fields.DateTime()
    until = ma.fields.DateTime()
    state = ma.fields.String(metadata={"description": "queued, running or done"})
    total = ma.fields.Integer()
    done = ma.fields.Integer()
    summary = ma.fields.Raw(
        metadata={
            "description": "grid (old outcome -> new outcome -> count), total, old_approve_rate "
            'and new_approve_rate (percent as text, "62.5")'
        }
    )
    rows = ma.fields.Raw(
        metadata={
            "description": "Per decision: record_id, decided_at, old, new (changed only "
            "beyond 1000 decisions)"
        }
    )
    job_id = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
