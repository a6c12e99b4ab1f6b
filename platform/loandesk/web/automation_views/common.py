"""What the automation pages share: the record types, events and actions on offer, the
trigger in words, and the rule form rendered with its choices."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from flask_babel import get_locale, gettext

from loandesk import extension
from loandesk.automations import service
from loandesk.fields.current import current_form
from loandesk.fields.forms import Form
from loandesk.fields.registry import RecordType
from loandesk.plugins import runtime as plugin_runtime
from loandesk.tenancy import current
from loandesk.web.flow_designer.common import operator_choices
from loandesk.web.flow_designer.summary import Names
from loandesk.web.htmx import htmx

PERMISSION = "automations.manage"


def locale() -> str:
    return str(get_locale() or "zh")


def partial() -> bool:
    return bool(htmx) and not htmx.boosted


def event_types() -> Any:
    return current_app.extensions["loandesk.events"].types


def record_type_or_none(key: str) -> RecordType | None:
    return next((t for t in plugin_runtime.record_types() if t.key == key), None)


def catalog(form: Form) -> service.Catalog:
    return service.catalog(form, event_types(), plugin_runtime.automation_actions())


def trigger_words(trigger: dict[str, Any], record_type: RecordType | None, loc: str) -> str:
    """ "借款申请已批准时" / "签约截止日前 2 天 09:00": the trigger as the list shows it."""
    if trigger.get("kind") == "relative":
        key = str(trigger.get("field"))
        label = key
        if record_type is not None:
            form = current_form(record_type)
            if key in form.expression_kinds:
                label = form.field(key).label(loc)
        days = int(trigger.get("days") or 0)
        at = trigger.get("at") or "00:00"
        if days < 0:
            return gettext(
                "%(days)s days before %(field)s at %(at)s", days=-days, field=label, at=at
            )
        if days > 0:
            return gettext("%(days)s days after %(field)s at %(at)s", days=days, field=label, at=at)
        return gettext("On %(field)s at %(at)s", field=label, at=at)
    if trigger.get("kind") == "schedule":
        count = len(trigger.get("filters") or [])
        if count:
            return gettext(
                "On schedule %(cron)s, for the records %(count)s filters select",
                cron=trigger.get("cron"),
                count=count,
            )
        return gettext("On schedule %(cron)s, for every record", cron=trigger.get("cron"))
    name = str(trigger.get("event"))
    known = event_types().get(name)
    event = event_label(known, loc) if known else name
    if changed := trigger.get("field"):
        label = str(changed)
        if record_type is not None:
            form = current_form(record_type)
            if label in form.expression_kinds:
                label = form.field(label).label(loc)
        return gettext("When %(event)s and %(field)s changed", event=event, field=label)
    return gettext("When %(event)s", event=event)


def event_label(event: Any, loc: str) -> str:
    return str(event.label_zh if loc.startswith("zh") else event.label_en)


def _saved_views(record_type: str) -> list[tuple[str, str]]:
    """The admin's own saved views of ``record_type`` (a schedule rule can take their
    filters)."""
    from flask import g

    from loandesk.fields.saved_views import views_of

    views = views_of(extension.session(), g.user.id, record_type)
    return [(str(v.id), v.name) for v in views if v.filters]


def render_form(
    state: dict[str, Any],
    errors: dict[str, list[str]],
    *,
    row: Any = None,
    status: int = 200,
    **extra: Any,
) -> tuple[str, int]:
    """The rule page (or, to htmx, its ``#rule-form`` fragment) with the choices valid for
    the chosen record type and the problems next to their inputs."""
    loc = locale()
    record_types = plugin_runtime.record_types()
    record_type = record_type_or_none(state["record_type"]) or (
        record_types[0] if record_types else None
    )
    context: dict[str, Any] = {
        "state": state,
        "errors": errors,
        "row": row,
        "locale": loc,
        "record_types": record_types,
        "record_type": record_type,
        "form_errors": extra.pop("form_errors", []),
        "preview": None,
        "recent": [],
        "timezone": current().timezone,
        "filter_errors": [
            m for key, found in errors.items() if key.startswith("trigger.filter") for m in found
        ],
        **extra,
    }
    if record_type is not None:
        state["record_type"] = record_type.key
        form = current_form(record_type)
        offered = catalog(form)
        names = Names.load(extension.session(), form, loc)
        kinds = form.expression_kinds
        ordered = [f.key for f in form.ordered() if f.key in kinds]
        context.update(
            form=form,
            saved_views=_saved_views(record_type.key),
            events=[(t.name, event_label(t, loc)) for t in offered.events],
            actions=[(a.key, a.label(loc)) for a in offered.actions],
            action_labels={a.key: a.label(loc) for a in offered.actions},
            fields=[(k, f"{form.field(k).label(loc)} ({k})") for k in ordered],
            date_fields=[
                (k, f"{form.field(k).label(loc)} ({k})")
                for k in ordered
                if k in offered.date_fields
            ],
            settable=[
                (f.key, f"{f.label(loc)} ({f.key})")
                for f in form.custom_fields
                if not f.computed and not f.encrypted and f.kind != "attachment"
            ],
            users=list(names.users.items()),
            roles=list(names.roles.items()),
            operator_choices=operator_choices(),
        )
    template = (
        "admin/automations/_form.html"
        if partial() and not extra.get("whole")
        else "admin/automations/rule.html"
    )
    return render_template(template, **context), status
