"""The actions the core offers to rules (plugins add theirs through
``loandesk_automation_actions``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loandesk import audit, pii
from loandesk.automations.rules import ActionType
from loandesk.fields.forms import Form
from loandesk.fields.registry import FieldSpec
from loandesk.fields.validation import message, store_custom
from loandesk.fields.values import Invalid, parse
from loandesk.i18n import N_


def _settable(form: Form, key: Any) -> FieldSpec | None:
    spec = next((f for f in form.custom_fields if f.key == key), None)
    if spec is None or spec.computed or spec.encrypted:
        return None
    return spec


def check_set_field(params: Mapping[str, Any], form: Form) -> dict[str, list[str]]:
    spec = _settable(form, params.get("field"))
    if spec is None:
        return {"field": [message(N_("Choose one of the form's own (custom) fields."))]}
    try:
        parse(spec, params.get("value"))
    except Invalid as problem:
        return {"value": [message(problem.message, **problem.params)]}
    return {}


def run_set_field(ctx: Any, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """Set a custom field of the record (audited like any change of it)."""
    spec = _settable(ctx.form, params.get("field"))
    if spec is None:
        raise LookupError(f"field {params.get('field')!r} can no longer be set")
    value = parse(spec, params.get("value"))
    before = (ctx.record.custom or {}).get(spec.key)
    store_custom(ctx.record, ctx.form, {spec.key: value}, pii.for_current_tenant())
    ctx.session.flush()
    after = (ctx.record.custom or {}).get(spec.key)
    if before != after:
        audit.record(
            ctx.session,
            f"{ctx.record_type.key}.update",
            ctx.record_type.key,
            ctx.record.id,
            {spec.key: [before, after], "rule": str(ctx.rule.id)},
        )
    return {"field": spec.key, "value": str(params.get("value"))}


SET_FIELD = ActionType("set_field", "设置字段", "Set a field", check_set_field, run_set_field)

CORE_ACTIONS: tuple[ActionType, ...] = (SET_FIELD,)
