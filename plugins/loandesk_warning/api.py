"""``/api/v1/warning``: early warning (逾期预警) — the watch list in the acting staff member's
data scope, and the tenant's model versions with their evaluation (AUC, KS), retrained on
demand by a risk manager (``warning.manage``)."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loandesk import sdk
from loandesk_warning import jobs, training, watchlist
from loandesk_warning import settings as warning_settings
from loandesk_warning.models import LEVELS, WarningModel

blp = Blueprint(
    "warning",
    __name__,
    url_prefix="/warning",
    description="Early warning (逾期预警): loans likely to miss a payment, scored daily by "
    "rules and the firm's own model (logistic regression trained on its repayment history), "
    "with the reasons; and the model's versions with their evaluation on held-out loans.",
)


class ReasonSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "the rule, or model.<feature>"})
    zh = ma.fields.String()
    en = ma.fields.String()


class WatchEntrySchema(ma.Schema):
    id = ma.fields.UUID()
    loan_id = ma.fields.UUID()
    loan_number = ma.fields.String()
    customer_id = ma.fields.UUID()
    product_code = ma.fields.String()
    status = ma.fields.String(metadata={"description": "flagged / cleared"})
    level = ma.fields.String(metadata={"description": "high / medium"})
    score = ma.fields.Integer(metadata={"description": "0-100: model score + rule points"})
    model_score = ma.fields.Integer(allow_none=True)
    model_version = ma.fields.Integer(allow_none=True)
    days_past_due = ma.fields.Integer()
    reasons = ma.fields.List(ma.fields.Nested(ReasonSchema))
    first_flagged_at = ma.fields.DateTime()
    last_scored_at = ma.fields.DateTime()
    cleared_at = ma.fields.DateTime(allow_none=True)
    owner_id = ma.fields.UUID()
    org_unit_id = ma.fields.UUID()


class FeatureSchema(ma.Schema):
    name = ma.fields.String()
    label_zh = ma.fields.String()
    label_en = ma.fields.String()
    coefficient = ma.fields.Float(metadata={"description": "per standard deviation"})


class WarningModelSchema(ma.Schema):
    id = ma.fields.UUID()
    version = ma.fields.Integer()
    state = ma.fields.String(metadata={"description": "active / retired"})
    algorithm = ma.fields.String()
    trained_at = ma.fields.DateTime()
    trained_by_id = ma.fields.UUID(allow_none=True)
    retired_at = ma.fields.DateTime(allow_none=True)
    as_of = ma.fields.Date()
    label_dpd = ma.fields.Integer(metadata={"description": "predicts reaching these DPD"})
    label_days = ma.fields.Integer(metadata={"description": "within these days"})
    rows = ma.fields.Integer()
    positives = ma.fields.Integer()
    test_rows = ma.fields.Integer(metadata={"description": "held out, stratified"})
    seed = ma.fields.Integer()
    auc = ma.fields.Decimal(as_string=True)
    ks = ma.fields.Decimal(as_string=True)
    features = ma.fields.Method("_features", metadata={"description": "strongest first"})

    def _features(self, model: WarningModel) -> list[dict[str, Any]]:
        return watchlist.coefficients(model)


class WatchListArgs(sdk.PageArgs):
    level = ma.fields.String(load_default=None, validate=validate.OneOf(LEVELS))
    product = ma.fields.String(load_default=None)
    owner_id = ma.fields.UUID(load_default=None)
    status = ma.fields.String(
        load_default="flagged", validate=validate.OneOf(("flagged", "cleared"))
    )


@blp.route("/watchlist")
class WatchList(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(WatchListArgs, location="query")
    @blp.response(200, sdk.page_of(WatchEntrySchema, "WarningWatchListPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Loans on the watch list (预警名单) in the acting staff member's data scope,
        highest score first; ``level``, ``product`` (code) and ``owner_id`` narrow them,
        ``status=cleared`` lists those taken off."""
        sdk.acting_user_with("warning.view")
        access = sdk.record_access("warning")
        items, total = watchlist.list_entries(sdk.session(), access, **args)
        return {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}


@blp.route("/watchlist/<uuid:entry_id>")
class WatchEntryById(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, WatchEntrySchema)
    def get(self, entry_id: uuid.UUID) -> Any:
        """One entry with its reasons (404 outside the data scope)."""
        sdk.acting_user_with("warning.view")
        return watchlist.find_entry(sdk.session(), sdk.record_access("warning"), entry_id)


@blp.route("/models")
class Models(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(sdk.PageArgs, location="query")
    @blp.response(200, sdk.page_of(WarningModelSchema, "WarningModelPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The model's versions, newest first, each with its evaluation."""
        sdk.acting_user_with("warning.view")
        items, total = watchlist.versions(sdk.session(), **args)
        return {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}

    @sdk.require_token("records:write")
    @blp.response(201, WarningModelSchema)
    @blp.alt_response(409, description="Too little repayment history to learn from")
    def post(self) -> Any:
        """Retrain now on the firm's repayment history: a new active version, the one
        before retired. What the weekly job does."""
        sdk.acting_user_with("warning.manage")
        session = sdk.session()
        model = training.train(
            session, as_of=jobs.local_today(), user_id=sdk.acting_user().id,
            settings=warning_settings.current(),
        )  # fmt: skip
        session.commit()
        return model


@blp.route("/models/active")
class ActiveModel(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, WarningModelSchema)
    @blp.alt_response(404, description="No model trained yet")
    def get(self) -> Any:
        """The version in use, with its evaluation (AUC and KS on the held-out loans)."""
        sdk.acting_user_with("warning.view")
        found = training.active_model(sdk.session())
        if found is None:
            raise sdk.NotFound(sdk.N_("No model has been trained yet."))
        return found
