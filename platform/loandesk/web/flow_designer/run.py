"""Trying the draft and putting it in force: the test run (sample values and a submitter in,
the path lit up on the tree and listed out), publishing with a note, and the versions
published so far, each viewable read-only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import flash, g, redirect, render_template, request
from flask_babel import gettext

from loandesk import extension
from loandesk.auth.users import display_names
from loandesk.errors import Conflict, NotFound, ValidationFailed
from loandesk.fields.registry import FieldSpec
from loandesk.flows import definitions
from loandesk.flows.tree import Approver, Automation, Copy, End, Fork
from loandesk.web.auth_views import permission_required
from loandesk.web.flow_designer import bp, summary
from loandesk.web.flow_designer.common import (
    PERMISSION,
    condition_fields,
    designer_url,
    load_draft,
    locale,
    partial,
    record_type_of,
    render,
    select_item,
)
from loandesk.web.forms import FormErrors


@dataclass
class Row:
    """One node on the path, as the test run lists it."""

    id: str
    name: str
    kind: str
    branch: str = ""  # the branch taken, at a condition node
    who: str = ""
    note: str = ""


@dataclass
class Run:
    values: dict[str, Any]
    submitter: str
    errors: FormErrors = field(default_factory=FormErrors)
    blocked: bool = False  # the draft has problems: nothing was run
    rows: list[Row] = field(default_factory=list)
    outcome: str | None = None
    path: set[str] = field(default_factory=set)  # nodes passed and branches taken
    skipped: set[str] = field(default_factory=set)  # branches not taken at forks passed
    ended: bool = False  # an end node decided the outcome (not the flow's own end)


def _sample(specs: list[FieldSpec]) -> dict[str, Any]:
    """The posted sample values, as the API would give them (empty inputs left out)."""
    found: dict[str, Any] = {}
    for spec in specs:
        name = f"v_{spec.key}"
        if spec.kind == "multi_select":
            chosen = [v for v in request.form.getlist(name) if v]
            if chosen:
                found[spec.key] = chosen
        elif raw := request.form.get(name, "").strip():
            found[spec.key] = raw
    return found


@bp.post("/<record_type>/test-run", endpoint="test_run")
@permission_required(PERMISSION)
def test_run(record_type: str) -> Any:
    draft = load_draft(record_type_of(record_type))
    session = extension.session()
    specs = [draft.form.field(k) for k in condition_fields(draft)]
    values = _sample(specs)
    submitter = request.form.get("submitter", "") or str(g.user.id)
    run = Run({k: v for k, v in values.items()}, submitter)
    selected = select_item(draft, request.form.get("selected"))
    try:
        submitter_id = uuid.UUID(submitter)
    except ValueError:
        run.errors.add("submitter", gettext("Choose a staff member."))
        return render(draft, 422, run=run, selected=selected)
    if definitions.problems(session, draft.form, draft.tree):
        run.blocked = True
        return render(draft, 422, run=run, selected=selected)
    try:
        stops, outcome = definitions.test_run(
            session, draft.form, draft.tree, values, submitter_id=submitter_id
        )
    except ValidationFailed as problem:  # the draft is valid: these are the sample's errors
        run.errors.update(problem, rename={k: f"v_{k}" for k in problem.errors})
        return render(draft, 422, run=run, selected=selected)
    names = summary.Names.load(session, draft.form, locale())
    people = display_names(session, [u for s in stops for u in s.users])
    for stop in stops:
        run.path.add(stop.node.id)
        run.rows.append(_row(run, stop, names, people))
    run.ended = any(isinstance(s.node, End) for s in stops)
    run.outcome = outcome
    return render(draft, run=run, selected=selected)


def _row(
    run: Run, stop: definitions.Stop, names: summary.Names, people: dict[uuid.UUID, str]
) -> Row:
    """``stop`` in words: the branch taken, who it goes to, what happens there."""
    node = stop.node
    row = Row(node.id, node.name, node.type)
    who = gettext(", ").join(people.get(u, str(u)) for u in stop.users)
    if isinstance(node, Fork):
        for branch in node.branches:
            if branch.id != stop.branch:
                run.skipped.add(branch.id)
                continue
            run.path.add(branch.id)
            text = (
                summary.condition(branch.condition.text, names)
                if branch.condition
                else gettext("Other cases")
            )
            row.branch = text if branch.name in ("", text) else f"{branch.name} ({text})"
    elif isinstance(node, Approver):
        row.who = who
        row.note = {
            "skip": gettext("Nobody found: this node is skipped."),
            "admin": gettext("Nobody found: it goes to the tenant admins."),
            "block": gettext("Nobody found: the approval waits here for an admin."),
        }.get(stop.note) or summary.short_mode({"mode": node.mode, "ratio": node.ratio})
    elif isinstance(node, Copy):
        row.who = who
        row.note = gettext("Gets a copy.") if who else gettext("Nobody found to copy.")
    elif isinstance(node, Automation | End):
        row.note = summary.lines(
            {
                "type": node.type,
                "field": getattr(node, "field", ""),
                "value": getattr(node, "value", None),
                "outcome": getattr(node, "outcome", ""),
            },
            names,
        )[0]
    return row


@bp.post("/<record_type>/publish", endpoint="publish")
@permission_required(PERMISSION)
def publish(record_type: str) -> Any:
    """The draft as the next version, or (nothing published) its problems on the cards."""
    draft = load_draft(record_type_of(record_type))
    session = extension.session()
    note = request.form.get("note", "")
    try:
        version = definitions.publish(
            session, draft.record_type, draft.form, note=note, user_id=g.user.id
        )
    except (NotFound, Conflict) as problem:
        session.rollback()
        status = 409 if isinstance(problem, Conflict) else 422
        return render(draft, status, problem=gettext(problem.message), note=note)
    except ValidationFailed as problem:
        session.rollback()
        errors = FormErrors()
        if "note" in problem.errors:
            errors.update(problem, rename={"note": "note"})
            return render(draft, 422, note=note, note_errors=errors)
        return render(draft, 422, problem=gettext(problem.message), note=note)
    session.commit()
    done = gettext("Version %(number)s published.", number=version.number)
    flash(done, "success")
    if not partial():
        return redirect(designer_url(draft.record_type))
    return render(load_draft(draft.record_type))


@bp.get("/<record_type>/versions", endpoint="versions")
@permission_required(PERMISSION)
def versions(record_type: str) -> Any:
    declared = record_type_of(record_type)
    session = extension.session()
    rows = definitions.versions(session, declared.key)
    names = display_names(session, [r.published_by_id for r in rows if r.published_by_id])
    row = definitions.definition(session, declared.key)
    return render_template(
        "admin/flow_designer/versions.html",
        record_type=declared,
        rows=rows,
        names=names,
        in_force=row.published_version if row else None,
        locale=locale(),
    )


@bp.get("/<record_type>/versions/<int:number>", endpoint="version")
@permission_required(PERMISSION)
def version(record_type: str, number: int) -> Any:
    declared = record_type_of(record_type)
    session = extension.session()
    found = definitions.version(session, declared.key, number)
    draft = load_draft(declared)
    names = summary.Names.load(session, draft.form, locale())
    by = display_names(session, [found.published_by_id] if found.published_by_id else [])
    return render_template(
        "admin/flow_designer/version.html",
        record_type=declared,
        version=found,
        by=by.get(found.published_by_id) if found.published_by_id else "",
        cards=summary.cards(found.tree, names, {}),
        readonly=True,
        selected=None,
        run=None,
        locale=locale(),
    )
