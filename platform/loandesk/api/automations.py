"""``/api/v1/automations``: automation rules (自动化规则) — when something happens to a record
and a condition holds, do actions — with their run logs, retries of failed runs and dry runs.
Reading needs ``automations:read``; changing needs ``automations:write`` and a client acting
for a staff member who holds ``automations.manage``."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from loandesk import extension
from loandesk.api.automation_schemas import (
    CatalogArgs,
    CatalogSchema,
    DryRunArgs,
    DryRunSchema,
    EnabledArgs,
    RuleListArgs,
    RulePage,
    RuleSchema,
    RuleWriteSchema,
    RunListArgs,
    RunPage,
    RunSchema,
)
from loandesk.auth.oauth import require_token
from loandesk.automations import engine, service
from loandesk.automations.models import AutomationRule
from loandesk.errors import NotFound, ValidationFailed
from loandesk.fields.current import current_form
from loandesk.i18n import N_
from loandesk.plugins import runtime as plugin_runtime
from loandesk.rbac.current import acting_user_with, record_access
from loandesk.tenancy import current

MANAGE = "automations.manage"

blp = Blueprint(
    "api_automations",
    __name__,
    url_prefix="/automations",
    description="Automation rules (自动化规则): a trigger (an event of a record, a day "
    "relative to a date field, or a cron schedule over a saved filter), a condition on the "
    "record's fields, and actions. A rule fires at most once per record and occurrence; "
    "failed runs are retried with backoff and can be retried by hand. Changing needs "
    "`automations:write` and a client acting for a staff member with `automations.manage`.",
)


def _types() -> Any:
    return current_app.extensions["loandesk.events"].types


def _form(record_type: str) -> Any:
    return current_form(plugin_runtime.record_type(record_type))


def _rule(rule_id: uuid.UUID) -> AutomationRule:
    row = service.get(extension.session(), rule_id)
    try:  # a rule of a record type whose plugin is off is as if it did not exist
        plugin_runtime.record_type(row.record_type)
    except NotFound:
        raise NotFound(N_("No such rule.")) from None
    return row


@blp.route("")
class Rules(MethodView):
    @require_token("automations:read")
    @blp.arguments(RuleListArgs, location="query")
    @blp.response(200, RulePage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The tenant's rules, by name (optionally of one record type)."""
        rows, total = service.list_rules(extension.session(), **args)
        return {"items": rows, "total": total, "page": args["page"], "per_page": args["per_page"]}

    @require_token("automations:write")
    @blp.arguments(RuleWriteSchema)
    @blp.response(201, RuleSchema)
    @blp.alt_response(409, description="A rule of this name exists")
    @blp.alt_response(
        422, description="Problems keyed by where: trigger, condition, actions.1.title"
    )
    def post(self, args: dict[str, Any]) -> AutomationRule:
        """Create a rule (checked as a whole; audited)."""
        user = acting_user_with(MANAGE)
        session = extension.session()
        row = service.create(
            session,
            args,
            _form(args["record_type"]),
            _types(),
            plugin_runtime.automation_actions(),
            user_id=user.id,
        )
        session.commit()
        return row


@blp.route("/catalog")
class Catalog(MethodView):
    @require_token("automations:read")
    @blp.arguments(CatalogArgs, location="query")
    @blp.response(200, CatalogSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """What rules on a record type may use: its events, the actions, its fields."""
        found = service.catalog(
            _form(args["record_type"]), _types(), plugin_runtime.automation_actions()
        )
        return {
            "events": [
                {"key": t.name, "label_zh": t.label_zh, "label_en": t.label_en}
                for t in found.events
            ],
            "actions": [
                {"key": a.key, "label_zh": a.label_zh, "label_en": a.label_en}
                for a in found.actions
            ],
            "field_kinds": found.fields,
            "date_fields": found.date_fields,
        }


@blp.route("/<uuid:rule_id>")
class Rule(MethodView):
    @require_token("automations:read")
    @blp.response(200, RuleSchema)
    def get(self, rule_id: uuid.UUID) -> AutomationRule:
        """One rule."""
        return _rule(rule_id)

    @require_token("automations:write")
    @blp.arguments(RuleWriteSchema)
    @blp.response(200, RuleSchema)
    @blp.alt_response(422, description="Problems keyed by where")
    def put(self, args: dict[str, Any], rule_id: uuid.UUID) -> AutomationRule:
        """Replace a rule (its version grows; runs already recorded keep theirs)."""
        user = acting_user_with(MANAGE)
        session = extension.session()
        row = _rule(rule_id)
        if args["record_type"] != row.record_type:
            raise ValidationFailed(
                N_("Some fields need attention."),
                errors={"record_type": [N_("A rule keeps its record type; create another.")]},
            )
        service.update(
            session,
            row,
            args,
            _form(row.record_type),
            _types(),
            plugin_runtime.automation_actions(),
            user_id=user.id,
        )
        session.commit()
        return row

    @require_token("automations:write")
    @blp.arguments(EnabledArgs)
    @blp.response(200, RuleSchema)
    def patch(self, args: dict[str, Any], rule_id: uuid.UUID) -> AutomationRule:
        """Enable or disable a rule."""
        acting_user_with(MANAGE)
        session = extension.session()
        row = service.set_enabled(session, _rule(rule_id), args["enabled"])
        session.commit()
        return row

    @require_token("automations:write")
    @blp.response(204)
    @blp.alt_response(409, description="The rule has run: disable it instead")
    def delete(self, rule_id: uuid.UUID) -> None:
        """Delete a rule that never ran."""
        acting_user_with(MANAGE)
        session = extension.session()
        service.delete(session, _rule(rule_id))
        session.commit()


@blp.route("/<uuid:rule_id>/runs")
class Runs(MethodView):
    @require_token("automations:read")
    @blp.arguments(RunListArgs, location="query")
    @blp.response(200, RunPage)
    def get(self, args: dict[str, Any], rule_id: uuid.UUID) -> dict[str, Any]:
        """The rule's run log, newest first."""
        _rule(rule_id)
        rows, total = service.runs(extension.session(), rule_id, **args)
        return {"items": rows, "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.route("/runs/<uuid:run_id>/retry")
class Retry(MethodView):
    @require_token("automations:write")
    @blp.response(200, RunSchema)
    @blp.alt_response(409, description="Only a failed run can be retried")
    def post(self, run_id: uuid.UUID) -> Any:
        """Run a failed run again, from the action that failed."""
        acting_user_with(MANAGE)
        session = extension.session()
        firing = engine.retry(session, run_id)
        _rule(firing.rule_id)
        session.commit()
        return firing


@blp.route("/<uuid:rule_id>/dry-run")
class DryRun(MethodView):
    @require_token("automations:read")
    @blp.arguments(DryRunArgs)
    @blp.response(200, DryRunSchema)
    def post(self, args: dict[str, Any], rule_id: uuid.UUID) -> dict[str, Any]:
        """What the rule would do for one record now (nothing is written). The record must be
        one the client's staff member may read."""
        session = extension.session()
        row = _rule(rule_id)
        access = record_access(row.record_type)
        model: Any = access.record_type.model
        record = session.scalar(access.where(select(model).where(model.id == args["record_id"])))
        if record is None or not access.can_read:
            raise NotFound(N_("No such record."))
        preview = service.dry_run(
            session,
            row,
            record,
            engine.declared_form(session, plugin_runtime.record_type(row.record_type)),
            plugin_runtime.automation_actions(),
            current().timezone,
        )
        return {"holds": preview.holds, "actions": preview.actions}
