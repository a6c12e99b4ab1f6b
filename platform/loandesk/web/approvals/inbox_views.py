"""The approvals inbox (审批中心): four boxes with their counts, filters that narrow the list
in place (htmx; the URL keeps them), and approving several to-dos at once where their step
allows it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import g, render_template, request
from flask_babel import get_locale, gettext, lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import extension
from loandesk.auth.users import display_names
from loandesk.db import utcnow
from loandesk.fields.registry import RecordType
from loandesk.flows import actions, inbox
from loandesk.flows.models import INSTANCE_STATES, FlowInstance, FlowVersion
from loandesk.flows.tree import Approver, load
from loandesk.plugins import runtime
from loandesk.tenancy import current
from loandesk.web.approvals import bp, counts_of, labels
from loandesk.web.auth_views import login_required
from loandesk.web.forms import FormErrors
from loandesk.web.htmx import htmx
from loandesk.web.paging import page_asked

PER_PAGE = 20
TARGET = "inbox"
FILTERS = ("type", "state", "q", "from", "to", "overdue")
BOXES = {
    "todo": lazy_gettext("To do"),
    "done": lazy_gettext("Done by me"),
    "submitted": lazy_gettext("Submitted by me"),
    "cc": lazy_gettext("CC to me"),
}
# what each tab's number counts
COUNTED = {
    "todo": lazy_gettext("waiting for your decision"),
    "done": lazy_gettext("decided by you"),
    "submitted": lazy_gettext("still in approval"),
    "cc": lazy_gettext("unread"),
}


@dataclass
class Row:
    item: inbox.Item
    record_type: str
    submitter: str
    since: datetime | None
    overdue: bool
    bulk: bool  # may be approved with others

    @property
    def instance(self) -> FlowInstance:
        return self.item.instance

    @property
    def state(self) -> tuple[str, str]:
        return labels.state(self.item.instance.state)


def _locale() -> str:
    return str(get_locale() or "zh")


def flow_record_types() -> list[RecordType]:
    """The enabled record types that go through approval."""
    return [t for t in runtime.record_types() if t.on_flow is not None]


def _date(values: dict[str, str], key: str, errors: FormErrors) -> date | None:
    try:
        return date.fromisoformat(values[key]) if values.get(key) else None
    except ValueError:
        errors.add(key, gettext("Use a date like 2026-03-01."))
        return None


def _filters(values: dict[str, str], errors: FormErrors) -> inbox.Filters:
    types = {t.key for t in flow_record_types()}
    start, end = _date(values, "from", errors), _date(values, "to", errors)
    if start and end and end < start:
        errors.add("to", gettext("The end date is before the start date."))
    return inbox.Filters(
        record_type=values["type"] if values["type"] in types else None,
        state=values["state"] if values["state"] in INSTANCE_STATES else None,
        q=values["q"] or None,
        submitted_from=start,
        submitted_to=end,
        overdue=values["overdue"] in ("1", "on", "true"),
        timezone=current().timezone,
    )


def _bulk_allowed(session: Session, items: list[inbox.Item]) -> set[uuid.UUID]:
    """The to-dos whose step's node lets them be approved together (``Approver.bulk`` in the
    instance's own version)."""
    version_ids = {i.instance.version_id for i in items}
    if not version_ids:
        return set()
    trees = {
        v.id: load(v.tree, {})
        for v in session.scalars(select(FlowVersion).where(FlowVersion.id.in_(version_ids)))
    }
    allowed = set()
    for item in items:
        tree, step = trees.get(item.instance.version_id), item.step
        if tree is None or step is None or step.node_id not in tree:
            continue
        node = tree.node(step.node_id)
        if isinstance(node, Approver) and node.bulk:
            allowed.add(item.instance.id)
    return allowed


def _rows(session: Session, which: str, page: inbox.Page) -> list[Row]:
    now = utcnow()
    types = {t.key: t.label(_locale()) for t in runtime.record_types()}
    names = display_names(session, [i.instance.submitter_id for i in page.items])
    bulk = _bulk_allowed(session, page.items) if which == "todo" else set()
    rows = []
    for item in page.items:
        step = item.step
        since = {
            "todo": item.task.created_at if item.task else None,
            "done": item.task.decided_at if item.task else None,
            "cc": item.copy.created_at if item.copy else None,
        }.get(which, item.instance.started_at)
        overdue = bool(
            step and step.state == "active" and step.due_at is not None and step.due_at <= now
        )
        rows.append(
            Row(
                item,
                types.get(item.instance.record_type, item.instance.record_type),
                names.get(item.instance.submitter_id, "—"),
                since,
                overdue,
                item.instance.id in bulk,
            )
        )
    return rows


def _tab_counts(session: Session, user_id: uuid.UUID) -> dict[str, int]:
    counts = counts_of(user_id)
    counts["done"] = inbox.box(session, user_id, "done", per_page=1).total
    return counts


def render_inbox(
    which: inbox.Box,
    values: dict[str, str],
    *,
    errors: FormErrors | None = None,
    results: list[tuple[str, bool, str]] | None = None,
    page: int = 1,
) -> Any:
    """The inbox on ``which`` box: the page, or its region (``#inbox``) for htmx."""
    session = extension.session()
    errors = errors if errors is not None else FormErrors()
    filters = _filters(values, errors)
    result = None
    if not errors.fields:
        result = inbox.box(session, g.user.id, which, filters, page=page, per_page=PER_PAGE)
    context = {
        "box": which,
        "boxes": BOXES,
        "counted": COUNTED,
        "counts": _tab_counts(session, g.user.id),
        "values": values,
        "params": {k: v for k, v in values.items() if v},
        "filtered": any(values.values()),
        "errors": errors,
        "result": result,
        "rows": _rows(session, which, result) if result else [],
        "record_types": [(t.key, t.label(_locale())) for t in flow_record_types()],
        "states": [(s, labels.state(s)[0]) for s in INSTANCE_STATES],
        "results": results,
        "oob_badges": bool(htmx) and results is not None,
    }
    code = 422 if errors else 200
    if htmx and (htmx.target == TARGET or request.method == "POST"):
        return render_template("approvals/_inbox.html", **context), code
    return render_template("approvals/inbox.html", **context), code


def _values(source: Any) -> dict[str, str]:
    return {k: str(source.get(k, "")).strip()[:100] for k in FILTERS}


@bp.get("/", endpoint="inbox")
@login_required
def inbox_page() -> Any:
    asked = request.args.get("box", "todo")
    which: inbox.Box = next((b for b in inbox.BOXES if b == asked), "todo")
    page = page_asked()
    return render_inbox(which, _values(request.args), page=page)


@bp.post("/bulk-approve", endpoint="bulk_approve")
@login_required
def bulk_approve() -> Any:
    """Approve the ticked to-dos, each alone: one refused (its step must be decided one by
    one, someone decided it meanwhile) leaves the others approved."""
    session = extension.session()
    errors = FormErrors()
    ids = []
    for raw in request.form.getlist("instance_id")[: inbox.MAX_PER_PAGE]:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    comment = request.form.get("comment", "").strip()
    if not ids:
        errors.add("instance_id", gettext("Tick the approvals to approve."))
    if len(comment) > actions.MAX_COMMENT:
        errors.add("comment", gettext("Use at most 2000 characters."))
    if errors:
        return render_inbox("todo", _values(request.form), errors=errors)
    found = session.execute(
        select(FlowInstance.id, FlowInstance.title).where(FlowInstance.id.in_(ids))
    )
    titles = dict(found.all())
    actor = actions.Actor(g.user.id, g.user.can("flows.manage"))
    done = actions.bulk_approve(session, ids, actor, actions.Note(comment))
    session.commit()
    results = [
        (
            titles.get(r.instance_id) or str(r.instance_id),
            r.ok,
            gettext("Approved") if r.ok else gettext(r.message),
        )
        for r in done
    ]
    return render_inbox("todo", _values(request.form), results=results)
