"""What the designer's pages share: the record types that can have a flow, a record type's
draft as loaded and saved, and the designer rendered as a page or (to htmx) as the fragment
that holds the canvas, the side panel and the test run."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import g, render_template, url_for
from flask_babel import get_locale, gettext
from sqlalchemy import select

from loandesk import extension
from loandesk.errors import NotFound
from loandesk.expressions import ExpressionError, compile_expression
from loandesk.fields.current import current_form
from loandesk.fields.forms import Form
from loandesk.fields.registry import RecordType
from loandesk.flows import definitions
from loandesk.flows.models import FlowDefinition, FlowVersion
from loandesk.flows.tree import load
from loandesk.i18n import N_
from loandesk.plugins import runtime as plugin_runtime
from loandesk.web.flow_designer import edit, panel, summary
from loandesk.web.form_builder.common import KIND_LABELS
from loandesk.web.forms import FormErrors
from loandesk.web.htmx import htmx

PERMISSION = "flows.manage"

# How the builder's operators read (translated where shown).
OPERATOR_LABELS = {
    "<": N_("less than"),
    "<=": N_("at most"),
    ">": N_("more than"),
    ">=": N_("at least"),
    "==": N_("equals"),
    "!=": N_("does not equal"),
    "contains": N_("includes"),
    "true": N_("is yes"),
    "false": N_("is no"),
    "empty": N_("is empty"),
    "not_empty": N_("is filled in"),
}
BUILDER_OPERATORS = tuple(OPERATOR_LABELS)
_SYMBOLS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}


def operator_choices() -> list[tuple[str, str]]:
    """The condition builder's operators as (value, label) pairs, translated (the automation
    rule form's builder offers the same)."""
    return [
        (op, f"{_SYMBOLS.get(op, '')} {gettext(OPERATOR_LABELS[op])}".strip())
        for op in BUILDER_OPERATORS
    ]


def locale() -> str:
    return str(get_locale() or "zh")


def flow_record_types() -> list[RecordType]:
    """Enabled record types whose module runs approvals (``on_flow`` set)."""
    return [t for t in plugin_runtime.record_types() if t.on_flow is not None]


def record_type_of(key: str) -> RecordType:
    """The enabled record type ``key`` that can have a flow (404 otherwise)."""
    declared = plugin_runtime.record_type(key)
    if declared.on_flow is None:
        raise NotFound(N_("This record type has no approval flow."))
    return declared


def node_names() -> dict[str, str]:
    """What a new node or branch is called, in the user's language."""
    return {
        "approver": gettext("Approver"),
        "branch": gettext("Condition branch"),
        "cc": gettext("CC"),
        "automation": gettext("Automation"),
        "end": gettext("End"),
        "branch_1": gettext("Condition 1"),
        "default": gettext("Other cases"),
    }


@dataclass
class Draft:
    """A record type's working copy (``row`` None until the first save)."""

    record_type: RecordType
    form: Form
    row: FlowDefinition | None
    tree: dict[str, Any]

    @property
    def name(self) -> str:
        return self.row.name if self.row else self.record_type.label_zh + "审批"


def load_draft(record_type: RecordType) -> Draft:
    row = definitions.definition(extension.session(), record_type.key)
    tree = dict(row.draft) if row and isinstance(row.draft, Mapping) else {"nodes": []}
    if not isinstance(tree.get("nodes"), list):
        tree = {"nodes": []}
    return Draft(record_type, current_form(record_type), row, tree)


def save(draft: Draft, tree: dict[str, Any], *, name: str | None = None) -> None:
    """Keep ``tree`` (and ``name``) as the draft, committed; ``ValidationFailed`` when it is
    not a tree at all, too large, or the name is wrong."""
    session = extension.session()
    row, _problems = definitions.save_draft(
        session, draft.record_type, draft.form, tree, name=name, user_id=g.user.id
    )
    session.commit()
    draft.row, draft.tree = row, dict(row.draft)


def published(session: Any, row: FlowDefinition | None) -> FlowVersion | None:
    if row is None or row.published_version is None:
        return None
    return session.scalar(
        select(FlowVersion).where(
            FlowVersion.definition_id == row.id, FlowVersion.number == row.published_version
        )
    )


def differs(draft: Draft, version: FlowVersion | None) -> bool:
    """Whether publishing now would change the flow in force (a first flow always does)."""
    if version is None:
        return bool(draft.tree.get("nodes"))
    if draft.tree == version.tree:
        return False
    kinds = draft.form.expression_kinds
    try:
        return load(draft.tree, kinds).to_json() != load(version.tree, kinds).to_json()
    except (AttributeError, TypeError, ValueError):
        return True


def condition_fields(draft: Draft) -> list[str]:
    """The fields the draft's conditions and field assignees name, in form order: what a test
    run asks for."""
    kinds = draft.form.expression_kinds
    named: set[str] = set()

    def visit(nodes: Any) -> None:
        for node in nodes if isinstance(nodes, list) else []:
            if not isinstance(node, Mapping):
                continue
            for item in node.get("assignees") or []:
                if isinstance(item, Mapping) and item.get("kind") == "field":
                    named.add(str(item.get("field")))
            for branch in node.get("branches") or []:
                if not isinstance(branch, Mapping):
                    continue
                text = branch.get("condition")
                if isinstance(text, str) and text.strip():
                    with contextlib.suppress(ExpressionError):  # its card shows why
                        named.update(compile_expression(text, kinds).names)
                visit(branch.get("nodes"))

    visit(draft.tree.get("nodes"))
    return [f.key for f in draft.form.ordered() if f.key in named and f.key in kinds]


@dataclass
class Selection:
    """The node or branch the side panel edits."""

    id: str
    item: dict[str, Any]
    is_branch: bool
    values: dict[str, Any]
    errors: FormErrors = field(default_factory=FormErrors)

    @property
    def kind(self) -> str:
        return "condition" if self.is_branch else str(self.item.get("type"))


def select_item(
    draft: Draft, item_id: str | None, posted: panel.Posted | None = None
) -> Selection | None:
    if not item_id:
        return None
    try:
        item, place = edit.find(draft.tree, item_id)
    except edit.EditError:
        return None
    values = panel.posted_values(item, posted) if posted is not None else panel.values(item)
    return Selection(item_id, item, edit.is_branch(item, place), values)


def partial() -> bool:
    """Whether the request wants a fragment: htmx, but not a boosted link or form."""
    return bool(htmx) and not htmx.boosted


def designer_url(record_type: RecordType, node: str | None = None) -> str:
    return url_for("tenant.admin_flows.designer", record_type=record_type.key, node=node or None)


def _options(draft: Draft, names: summary.Names, loc: str) -> dict[str, list[tuple[str, str]]]:
    """The side panel's choices, as (value, label) pairs."""
    kinds = draft.form.expression_kinds

    def labelled(keys: list[str]) -> list[tuple[str, str]]:
        return [(k, f"{draft.form.field(k).label(loc)} ({k})") for k in keys]

    ordered = [f.key for f in draft.form.ordered()]
    headless = gettext("no head yet")  # outside the f-string: Babel does not look inside them
    return {
        "users": list(names.users.items()),
        "roles": list(names.roles.items()),
        "units": [
            (unit, f"{name} · {names.unit_heads.get(unit) or headless}")
            for unit, name in names.units.items()
        ],
        "user_fields": labelled([k for k in ordered if kinds.get(k) == "user"]),
        "date_fields": labelled([k for k in ordered if kinds.get(k) in ("date", "datetime")]),
        "settable_fields": labelled(
            [
                f.key
                for f in draft.form.custom_fields
                if not f.computed and not f.encrypted and f.kind != "attachment"
            ]
        ),
        "builder_fields": [
            (k, f"{draft.form.field(k).label(loc)} ({k})") for k in ordered if k in kinds
        ],
    }


def render(
    draft: Draft, status: int = 200, *, selected: Selection | None = None, **extra: Any
) -> tuple[str, int]:
    """The designer page, or to htmx its ``#designer`` fragment, with the draft's problems on
    its cards; ``extra`` carries a test run's result, a message, the publish note."""
    session = extension.session()
    loc = locale()
    names = summary.Names.load(session, draft.form, loc)
    problems = definitions.problems(session, draft.form, draft.tree) if draft.tree else {}
    cards = summary.cards(draft.tree, names, problems)
    shown = summary.known_ids(cards)
    version = published(session, draft.row)
    kinds = draft.form.expression_kinds
    fields = [f for f in draft.form.ordered() if f.key in kinds]
    context: dict[str, Any] = {
        "record_type": draft.record_type,
        "draft": draft,
        "cards": cards,
        "problems": problems,
        "flow_problems": [m for k, found in problems.items() if k not in shown for m in found],
        "problem_list": summary.flat(cards),
        "problem_count": sum(len(found) for found in problems.values()),
        "version": version,
        "differs": differs(draft, version),
        "names": names,
        "options": _options(draft, names, loc),
        "selected": selected,
        "locale": loc,
        "fields": fields,
        "kinds": kinds,
        "operator_choices": operator_choices(),
        "kind_labels": KIND_LABELS,
        "test_fields": [draft.form.field(k) for k in condition_fields(draft)],
        "run": None,
        "readonly": False,
        "note": "",
        "note_errors": FormErrors(),
        "message": None,
        "partial": partial(),
        **extra,
    }
    template = (
        "admin/flow_designer/_designer.html" if partial() else "admin/flow_designer/designer.html"
    )
    return render_template(template, **context), status
