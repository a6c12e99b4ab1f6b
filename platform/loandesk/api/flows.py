"""``/api/v1/flows``: designing approval flows (审批流程) — the draft tree of each record type
that goes through approval, its problems per node, test runs, publishing and the published
versions. Reading needs ``flows:read``; changing needs ``flows:write`` and a client acting for
a staff member who holds ``flows.manage`` (drafts and versions name who saved them).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from loandesk import extension
from loandesk.api.errors import translate_errors
from loandesk.api.flow_schemas import (
    DraftArgs,
    FlowDraftSchema,
    FlowList,
    FlowVersionSchema,
    FlowVersionTreeSchema,
    PublishArgs,
    TestRunArgs,
    TestRunSchema,
    VersionPage,
)
from loandesk.api.schemas import PageArgs
from loandesk.auth.oauth import require_token
from loandesk.auth.users import display_names
from loandesk.errors import NotFound, ValidationFailed
from loandesk.fields.current import current_form
from loandesk.fields.registry import RecordType
from loandesk.fields.validation import SOME_FIELDS
from loandesk.flows import definitions, engine
from loandesk.flows.models import FlowDefinition, FlowVersion
from loandesk.flows.tree import Approver, Copy, Fork
from loandesk.flows.tree import parse as parse_tree
from loandesk.i18n import N_
from loandesk.plugins import runtime as plugin_runtime
from loandesk.rbac.current import acting_user_with

MANAGE = "flows.manage"

blp = Blueprint(
    "api_flows",
    __name__,
    url_prefix="/flows",
    description="Approval flows (审批流程) of the record types that go through approval: a "
    "draft tree saved as often as needed (its problems reported per node), checked strictly "
    "and published as numbered versions; running approvals stay on the version they started "
    "on. Changing needs `flows:write` and a client acting for a staff member with "
    "`flows.manage`.",
)


def flow_type(key: str) -> RecordType:
    """The enabled record type ``key`` if it goes through approval; NotFound otherwise."""
    declared = plugin_runtime.record_type(key)
    if declared.on_flow is None:
        raise NotFound(N_("This record type has no approval flow."))
    return declared


def _summary(declared: RecordType, row: FlowDefinition | None) -> dict[str, Any]:
    return {
        "record_type": declared.key,
        "label_zh": declared.label_zh,
        "label_en": declared.label_en,
        "name": row.name if row else declared.label_zh + "审批",
        "published_version": row.published_version if row else None,
        "unpublished_changes": row is not None and _changed(declared, row),
        "updated_at": row.updated_at if row else None,
        "updated_by_id": row.updated_by_id if row else None,
    }


def _changed(declared: RecordType, row: FlowDefinition) -> bool:
    """Whether publishing the draft would make a different version: compared as publishing
    would store it (a draft saved with defaults left out is the same tree)."""
    session = extension.session()
    in_force = engine.published(session, declared.key)
    if in_force is None:
        return bool(row.draft.get("nodes"))
    if in_force.name != row.name:
        return True
    if in_force.tree == row.draft:
        return False
    checks = definitions.checks_for(session, current_form(declared))
    try:
        return parse_tree(row.draft, checks).to_json() != in_force.tree
    except ValidationFailed:
        return True


def _draft(declared: RecordType, row: FlowDefinition | None) -> dict[str, Any]:
    session = extension.session()
    draft = row.draft if row else {"nodes": []}
    found = definitions.problems(session, current_form(declared), draft)
    return {
        **_summary(declared, row),
        "nodes": list(draft.get("nodes", [])),
        "problems": translate_errors(found),
    }


@blp.route("")
class Flows(MethodView):
    @require_token("flows:read")
    @blp.response(200, FlowList)
    def get(self) -> dict[str, Any]:
        """Record types that go through approval, with their flows.

        Each record type of the enabled plugins that puts its records through approval, with
        its flow's name, the version in force and whether the draft has unpublished changes.
        """
        session = extension.session()
        rows = {r.record_type: r for r in session.scalars(select(FlowDefinition))}
        return {
            "items": [
                _summary(t, rows.get(t.key))
                for t in plugin_runtime.record_types()
                if t.on_flow is not None
            ]
        }


@blp.route("/<record_type>")
class FlowDraft(MethodView):
    @require_token("flows:read")
    @blp.response(200, FlowDraftSchema)
    def get(self, record_type: str) -> dict[str, Any]:
        """The draft tree and its problems.

        What stands between the draft and publishing, per node. A record type whose flow was
        never saved answers an empty draft.
        """
        declared = flow_type(record_type)
        return _draft(declared, definitions.definition(extension.session(), declared.key))

    @require_token("flows:write")
    @blp.arguments(DraftArgs)
    @blp.response(200, FlowDraftSchema)
    @blp.alt_response(403, description="The client's staff member lacks flows.manage")
    @blp.alt_response(422, description="Not a list of nodes, too large, or a bad name")
    def put(self, args: dict[str, Any], record_type: str) -> dict[str, Any]:
        """Save the draft.

        A draft with problems is saved too: they come back in `problems`, keyed by node, and
        publishing refuses it until they are fixed. Audited.
        """
        user = acting_user_with(MANAGE)
        declared = flow_type(record_type)
        session = extension.session()
        row, _problems = definitions.save_draft(
            session,
            declared,
            current_form(declared),
            {"nodes": args["nodes"]},
            name=args["name"],
            user_id=user.id,
        )
        session.commit()
        return _draft(declared, row)


@blp.route("/<record_type>/publish")
class Publish(MethodView):
    @require_token("flows:write")
    @blp.arguments(PublishArgs)
    @blp.response(201, FlowVersionSchema)
    @blp.alt_response(403, description="The client's staff member lacks flows.manage")
    @blp.alt_response(404, description="No draft was ever saved")
    @blp.alt_response(409, description="The draft is the version in force already")
    @blp.alt_response(422, description="The draft has problems: `errors` by node id")
    def post(self, args: dict[str, Any], record_type: str) -> dict[str, Any]:
        """Publish the draft as the next version.

        The draft is checked strictly (422 with `errors` by node id) and becomes the version in
        force: new approvals start on it, running ones stay on theirs. Audited.
        """
        user = acting_user_with(MANAGE)
        declared = flow_type(record_type)
        session = extension.session()
        version = definitions.publish(
            session, declared, current_form(declared), note=args["note"], user_id=user.id
        )
        session.commit()
        return _version(version, version.number)


@blp.route("/<record_type>/versions")
class Versions(MethodView):
    @require_token("flows:read")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, VersionPage)
    def get(self, args: dict[str, Any], record_type: str) -> dict[str, Any]:
        """Published versions, newest first."""
        declared = flow_type(record_type)
        session = extension.session()
        row = definitions.definition(session, declared.key)
        page, per_page = args["page"], args["per_page"]
        if row is None:
            return {"items": [], "page": page, "per_page": per_page, "total": 0}
        query = select(FlowVersion).where(FlowVersion.definition_id == row.id)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        versions = session.scalars(
            query.order_by(FlowVersion.number.desc()).limit(per_page).offset((page - 1) * per_page)
        )
        return {
            "items": [_version(v, row.published_version) for v in versions],
            "page": page,
            "per_page": per_page,
            "total": total,
        }


@blp.route("/<record_type>/versions/<int:number>")
class VersionByNumber(MethodView):
    @require_token("flows:read")
    @blp.response(200, FlowVersionTreeSchema)
    def get(self, record_type: str, number: int) -> dict[str, Any]:
        """One published version with its tree."""
        declared = flow_type(record_type)
        session = extension.session()
        version = definitions.version(session, declared.key, number)
        row = definitions.definition(session, declared.key)
        in_force = row.published_version if row else None
        return {**_version(version, in_force), "nodes": version.tree.get("nodes", [])}


def _version(version: FlowVersion, in_force: int | None) -> dict[str, Any]:
    return {
        "number": version.number,
        "name": version.name,
        "note": version.note,
        "published_at": version.published_at,
        "published_by_id": version.published_by_id,
        "in_force": version.number == in_force,
    }


@blp.route("/<record_type>/test-run")
class TestRun(MethodView):
    @require_token("flows:read")
    @blp.arguments(TestRunArgs)
    @blp.response(200, TestRunSchema)
    @blp.alt_response(
        422,
        description="The tree has problems (`errors` by node id), or a sample value is wrong "
        "(`errors` by `values.<field>`)",
    )
    def post(self, args: dict[str, Any], record_type: str) -> dict[str, Any]:
        """Test-run the draft with sample values.

        The path a record with these values would take through the draft (or the tree given):
        each node passed, the branch taken, who it would go to, and the outcome. Changes
        nothing.
        """
        declared = flow_type(record_type)
        session = extension.session()
        if args["nodes"] is not None:
            draft: dict[str, Any] = {"nodes": args["nodes"]}
        else:
            row = definitions.definition(session, declared.key)
            draft = row.draft if row else {"nodes": []}
        submitter = args["submitter_id"] or _acting_id()
        try:
            stops, outcome = definitions.test_run(
                session, current_form(declared), draft, args["values"], submitter_id=submitter
            )
        except ValidationFailed as failed:
            if failed.message == SOME_FIELDS:  # the sample values' problems, by field
                failed.errors = {f"values.{k}": v for k, v in failed.errors.items()}
            raise
        return {"outcome": outcome, "stops": _stops(stops)}


def _acting_id() -> uuid.UUID:
    token = g.get("api_token")
    user_id = token.client.acts_as_id if token is not None else None
    if user_id is None:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"submitter_id": [N_("Name the submitter: this client acts for nobody.")]},
        )
    return uuid.UUID(str(user_id))


def _stops(stops: list[definitions.Stop]) -> list[dict[str, Any]]:
    names = display_names(extension.session(), [u for s in stops for u in s.users])
    found = []
    for stop in stops:
        branch = None
        if isinstance(stop.node, Fork) and stop.branch is not None:
            branch = next((b for b in stop.node.branches if b.id == stop.branch), None)
        found.append(
            {
                "node_id": stop.node.id,
                "type": stop.node.type,
                "name": stop.node.name,
                "branch_id": stop.branch,
                "branch_name": branch.name if branch else None,
                "users": [{"id": u, "name": names.get(u, "")} for u in stop.users]
                if isinstance(stop.node, Approver | Copy)
                else [],
                "note": stop.note,
            }
        )
    return found
