"""Automation rules in a bundle: ``automations.yaml``, one list of the tenant's rules by name
(see tenants/README.md).

Each rule is written as the API carries it (name, record type, trigger, condition, actions,
enabled) except that a staff member an action names (a to-do's ``assignee`` of kind
``user``) is named by e-mail, so that the file applies to another tenant or install.

Rules are matched by name. Checking the whole bundle finds what needs no form (a record type
that is not enabled, an e-mail with no staff member, a name used twice); every rule is then
parsed as saving it does, after the bundle's own fields and roles are applied (a rule may use
a field or a role the same bundle adds), and when any rule has problems none is saved. A new
rule is created, a different one updated (a new version); rules of the tenant that the file
does not name are left as they are, enabled or not.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.auth import users
from loandesk.auth.models import User
from loandesk.automations import service
from loandesk.automations.actions import CORE_ACTIONS
from loandesk.automations.models import AutomationRule
from loandesk.automations.rules import ActionType, event_types_for, parse
from loandesk.bundle.model import BundleInvalid
from loandesk.errors import ValidationFailed
from loandesk.fields.forms import published_form
from loandesk.fields.registry import RecordType
from loandesk.fields.validation import message
from loandesk.plugins.host import PluginHost

Change = Callable[..., Any]  # ``_Run.change``: (file, path, summary, do, *args, **kw)
FILE = "automations.yaml"
_COMPARED = ("trigger", "condition", "actions", "enabled")


def _assignees(actions: Any, user: Callable[[Any], Any]) -> list[Any]:
    """A copy of ``actions`` with each action's staff member (``assignee`` of kind ``user``)
    passed through ``user`` (id to e-mail on export, e-mail to id on apply)."""
    found = []
    for action in actions if isinstance(actions, list) else ():
        if isinstance(action, Mapping):
            action = dict(action)
            assignee = action.get("assignee")
            if isinstance(assignee, Mapping) and assignee.get("kind") == "user":
                action["assignee"] = {**assignee, "user": user(assignee.get("user"))}
        found.append(action)
    return found


# --- export -------------------------------------------------------------------------------


def export_file(session: Session, record_types: Sequence[RecordType]) -> dict[str, Any]:
    """``automations.yaml``: the rules of the enabled record types, by name."""
    enabled = {t.key for t in record_types}
    emails = {
        str(user_id): email for user_id, email in session.execute(select(User.id, User.email))
    }
    rows = session.scalars(select(AutomationRule).order_by(AutomationRule.name))
    return {
        "rules": [
            {
                "name": row.name,
                "record_type": row.record_type,
                "trigger": row.trigger,
                "condition": row.condition,
                # a staff member since erased stays an id: refused on apply
                "actions": _assignees(row.actions, lambda v: emails.get(str(v), v)),
                "enabled": row.enabled,
            }
            for row in rows
            if row.record_type in enabled
        ]
    }


# --- check --------------------------------------------------------------------------------


def problems(
    session: Session, bundle: Mapping[str, Mapping[str, Any]], record_types: Mapping[str, Any]
) -> Iterator[str]:
    """What is wrong with ``automations.yaml`` that needs no form: ``record_types`` are the
    enabled record types once the bundle is applied. The rules themselves are parsed when
    they are applied (``apply_file``), after the bundle's fields and roles."""
    rules = bundle.get(FILE, {}).get("rules", [])
    names = [r["name"] for r in rules]
    existing = dict(session.execute(select(AutomationRule.name, AutomationRule.record_type)).all())
    for index, rule in enumerate(rules):
        name = rule["name"]
        if names.count(name) > 1 and names.index(name) == index:
            yield f"{FILE}: {name}: name: two rules are named {name!r}"
        if rule["record_type"] not in record_types:
            yield (
                f"{FILE}: {name}: record_type: {rule['record_type']!r} is not a record type,"
                " or its plugin is not enabled"
            )
        elif existing.get(name, rule["record_type"]) != rule["record_type"]:
            yield (
                f"{FILE}: {name}: record_type: the tenant's rule of this name is on"
                f" {existing[name]!r}; a rule's record type cannot change (rename one)"
            )
        for where, problem in _missing_users(session, rule["actions"]):
            yield f"{FILE}: {name}: {where}: {problem}"


def _missing_users(session: Session, actions: Sequence[Any]) -> Iterator[tuple[str, str]]:
    for index, action in enumerate(actions):
        assignee = action.get("assignee") if isinstance(action, Mapping) else None
        if isinstance(assignee, Mapping) and assignee.get("kind") == "user":
            email = assignee.get("user")
            if not email or users.find_by_email(session, str(email)) is None:
                yield f"actions.{index}.assignee", f"no staff member {email!r} in this tenant"


# --- apply --------------------------------------------------------------------------------


def apply_file(
    change: Change,
    session: Session,
    host: PluginHost,
    enabled: frozenset[str],
    data: Mapping[str, Any],
) -> None:
    """Parse every rule against the forms in force (the bundle's fields applied by now), then
    create the new ones and update those that differ, by name; ``BundleInvalid`` naming each
    rule and where, before anything is saved, when any rule has problems."""
    # action checks look roles and staff up in this session: they see what the bundle has
    # just made in its own (uncommitted) transaction
    _apply(change, session, host, enabled, data)


def _apply(
    change: Change,
    session: Session,
    host: PluginHost,
    enabled: frozenset[str],
    data: Mapping[str, Any],
) -> None:
    declared = {t.key: t for t in host.record_types(sorted(enabled))}
    actions: dict[str, ActionType] = {a.key: a for a in CORE_ACTIONS}
    actions.update({a.key: a for a in host.automation_actions(sorted(enabled))})
    types = current_app.extensions["loandesk.events"].types
    rows = {r.name: r for r in session.scalars(select(AutomationRule))}
    forms: dict[str, Any] = {}
    planned, refused = [], []
    for rule in data["rules"]:
        record_type = declared[rule["record_type"]]  # checked before
        if record_type.key not in forms:
            forms[record_type.key] = published_form(session, record_type)
        form = forms[record_type.key]
        wanted = {**rule, "actions": _assignees(rule["actions"], _user_id(session))}
        has_flow = record_type.on_flow is not None
        try:
            parsed = parse(
                wanted, form, event_types_for(record_type.key, has_flow, types), actions, session
            )
        except ValidationFailed as failed:
            found = failed.errors or {"(rule)": [message(failed.message)]}
            refused += [f"{FILE}: {rule['name']}: {w}: {t}" for w, ts in found.items() for t in ts]
            continue
        planned.append((rule["name"], wanted, form, parsed))
    if refused:
        raise BundleInvalid(refused)
    for name, wanted, form, parsed in planned:
        row = rows.get(name)
        if row is None:
            summary = f"create rule on {parsed.record_type} ({_when(parsed.trigger)})"
            change(FILE, name, summary, service.create, session, wanted, form, types, actions,
                   user_id=None)  # fmt: skip
            continue
        after = {
            "trigger": parsed.trigger,
            "condition": parsed.condition.text if parsed.condition else "",
            "actions": list(parsed.actions),
            "enabled": parsed.enabled,
        }
        differs = [k for k in _COMPARED if getattr(row, k) != after[k]]
        if differs:
            summary = f"update to version {row.version + 1}: {', '.join(differs)}"
            change(FILE, name, summary, service.update, session, row, wanted, form, types,
                   actions, user_id=None)  # fmt: skip


def _user_id(session: Session) -> Callable[[Any], Any]:
    def user(email: Any) -> Any:
        # an inactive staff member is found: parsing the rule refuses them
        found = users.find_by_email(session, str(email)) if email else None
        return str(found.id) if found is not None else str(uuid.UUID(int=0))

    return user


def _when(trigger: Mapping[str, Any]) -> str:
    if trigger.get("kind") == "relative":
        return f"{trigger['days']:+d} days from {trigger['field']} at {trigger['at']}"
    if trigger.get("kind") == "schedule":
        return f"on schedule {trigger.get('cron')}"
    return f"on {trigger.get('event')}"
