"""``/api/v1/collections``: cases (list, one with its loan, contacts and history), actions and
promises to pay on a case, re-assigning it, and the setup — queues and their members,
assignment rules, agencies and their users, scripts. Thin adapters over ``cases`` and
``setup``; an agency's user sees only its cases (404 for the others)."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from loandesk import sdk
from loandesk_collections import cases, present, setup
from loandesk_collections.schemas import (
    CollectionActionSchema,
    CollectionActionWriteSchema,
    CollectionAgencySchema,
    CollectionAgencyUserWriteSchema,
    CollectionAgencyWriteSchema,
    CollectionAssignWriteSchema,
    CollectionCaseDetailSchema,
    CollectionCaseListArgs,
    CollectionCaseSchema,
    CollectionMembersWriteSchema,
    CollectionPromiseSchema,
    CollectionPromiseWriteSchema,
    CollectionQueueSchema,
    CollectionQueueWriteSchema,
    CollectionRuleSchema,
    CollectionRuleWriteSchema,
    CollectionScriptSchema,
    CollectionScriptWriteSchema,
)

blp = Blueprint(
    "collections",
    __name__,
    url_prefix="/collections",
    description="Collections (催收): cases of overdue loans, their actions and promises to pay "
    "(承诺还款), queues (催收队列), assignment rules (分案规则), agencies (委外机构), "
    "scripts (话术).",
)


def _case(case_id: uuid.UUID, permission: str = "collections.view") -> Any:
    user = sdk.acting_user_with(permission)
    return cases.get_case(sdk.session(), case_id, user, sdk.record_access("collection_case"))


@blp.route("/cases")
class Cases(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(CollectionCaseListArgs, location="query")
    @blp.response(200, sdk.page_of(CollectionCaseSchema, "CollectionCasePage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Cases the caller may see (open ones unless ``status`` says otherwise), most days
        past due first; an agency's user sees only its agency's."""
        user = sdk.acting_user_with("collections.view")
        filters = cases.Filters(
            status=None if args["status"] == "all" else args["status"],
            queue_id=args["queue_id"],
            bucket=args["bucket"],
            mine=args["mine"],
        )
        page, per_page = args["page"], args["per_page"]
        found, total = cases.list_cases(
            sdk.session(), user, sdk.record_access("collection_case"), filters,
            page=page, per_page=per_page,
        )  # fmt: skip
        items = [present.case(c) for c in found]
        return {"items": items, "page": page, "per_page": per_page, "total": total}


@blp.route("/cases/<uuid:case_id>")
class CaseDetail(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, CollectionCaseDetailSchema)
    def get(self, case_id: uuid.UUID) -> dict[str, Any]:
        """One case with the loan's schedule and payments, the borrower's contacts (masked
        as the caller's field permissions say), actions, promises, assignments, script."""
        session = sdk.session()
        found = present.detail(session, _case(case_id))
        session.commit()  # personal data shown in full is audited
        return found


@blp.route("/cases/<uuid:case_id>/actions")
class CaseActions(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(CollectionActionWriteSchema)
    @blp.response(201, CollectionActionSchema)
    @blp.alt_response(409, description="The case is closed")
    def post(self, args: dict[str, Any], case_id: uuid.UUID) -> Any:
        """Log an action: a call with its outcome code, an SMS, a visit, a letter."""
        session = sdk.session()
        case = _case(case_id, "collections.work")
        action = cases.log_action(session, case, user_id=sdk.acting_user().id, **args)
        session.commit()
        return action


@blp.route("/cases/<uuid:case_id>/promises")
class CasePromises(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(CollectionPromiseWriteSchema)
    @blp.response(201, CollectionPromiseSchema)
    @blp.alt_response(409, description="The case is closed")
    @blp.alt_response(422, description="amount (above zero, two decimals), promised_on")
    def post(self, args: dict[str, Any], case_id: uuid.UUID) -> Any:
        """Record a promise to pay (承诺还款): ``amount`` by ``promised_on``. Payments on the
        loan count towards it; when its date passes first it is broken (a to-do)."""
        session = sdk.session()
        case = _case(case_id, "collections.work")
        promise = cases.make_promise(session, case, user_id=sdk.acting_user().id, **args)
        session.commit()
        return promise


@blp.route("/cases/<uuid:case_id>/assignment")
class CaseAssignment(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(CollectionAssignWriteSchema)
    @blp.response(200, CollectionCaseSchema)
    def put(self, args: dict[str, Any], case_id: uuid.UUID) -> Any:
        """Put the case into a queue by hand, to one of its members or whom the queue's
        balancing picks (collections.manage)."""
        session = sdk.session()
        case = _case(case_id, "collections.manage")
        queue = setup.get_queue(session, args["queue_id"])
        cases.reassign(session, case, queue, collector_id=args["collector_id"])
        session.commit()
        return present.case(case)


@blp.route("/queues")
class Queues(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(sdk.PageArgs, location="query")
    @blp.response(200, sdk.page_of(CollectionQueueSchema, "CollectionQueuePage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Queues with their members and open cases."""
        sdk.acting_user_with("collections.view")
        session = sdk.session()
        found = setup.queues(session)
        page, per_page = args["page"], args["per_page"]
        items = [present.queue(session, q) for q in found[(page - 1) * per_page : page * per_page]]
        return {"items": items, "page": page, "per_page": per_page, "total": len(found)}

    @sdk.require_token("records:write")
    @blp.arguments(CollectionQueueWriteSchema)
    @blp.response(201, CollectionQueueSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Create a queue: code, name, balancing (round_robin / least_loaded), the agency it
        hands its cases to (委外), its members."""
        sdk.acting_user_with("collections.manage")
        session = sdk.session()
        queue = setup.create_queue(session, args)
        session.commit()
        return present.queue(session, queue)


@blp.route("/queues/<uuid:queue_id>/members")
class QueueMembers(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(CollectionMembersWriteSchema)
    @blp.response(200, CollectionQueueSchema)
    def put(self, args: dict[str, Any], queue_id: uuid.UUID) -> Any:
        """The queue's collectors are now ``members``."""
        sdk.acting_user_with("collections.manage")
        session = sdk.session()
        queue = setup.get_queue(session, queue_id)
        setup.set_members(session, queue, args["members"])
        session.commit()
        return present.queue(session, queue)


@blp.route("/rules")
class Rules(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(sdk.PageArgs, location="query")
    @blp.response(200, sdk.page_of(CollectionRuleSchema, "CollectionRulePage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Assignment rules in their order (the first that a loan meets decides)."""
        sdk.acting_user_with("collections.view")
        found = setup.rules(sdk.session())
        page, per_page = args["page"], args["per_page"]
        items = found[(page - 1) * per_page : page * per_page]
        return {"items": items, "page": page, "per_page": per_page, "total": len(found)}

    @sdk.require_token("records:write")
    @blp.arguments(CollectionRuleWriteSchema)
    @blp.response(201, CollectionRuleSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Add a rule: the queue, and conditions on bucket, overdue amount, product, unit."""
        sdk.acting_user_with("collections.manage")
        session = sdk.session()
        rule = setup.create_rule(session, args)
        session.commit()
        return rule


@blp.route("/rules/<uuid:rule_id>")
class RuleDetail(MethodView):
    @sdk.require_token("records:write")
    @blp.response(204)
    def delete(self, rule_id: uuid.UUID) -> None:
        """Remove a rule (cases already in queues stay there)."""
        sdk.acting_user_with("collections.manage")
        session = sdk.session()
        setup.delete_rule(session, rule_id)
        session.commit()


def _agency(session: Any, agency: Any) -> dict[str, Any]:
    return {
        "id": agency.id,
        "code": agency.code,
        "name": agency.name,
        "active": agency.active,
        "users": setup.agency_users(session, agency),
    }


@blp.route("/agencies")
class Agencies(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(sdk.PageArgs, location="query")
    @blp.response(200, sdk.page_of(CollectionAgencySchema, "CollectionAgencyPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Agencies (委外机构) and their users."""
        sdk.acting_user_with("collections.manage")
        session = sdk.session()
        found = setup.agencies(session)
        page, per_page = args["page"], args["per_page"]
        items = [_agency(session, a) for a in found[(page - 1) * per_page : page * per_page]]
        return {"items": items, "page": page, "per_page": per_page, "total": len(found)}

    @sdk.require_token("records:write")
    @blp.arguments(CollectionAgencyWriteSchema)
    @blp.response(201, CollectionAgencySchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Add an agency."""
        sdk.acting_user_with("collections.manage")
        session = sdk.session()
        agency = setup.create_agency(session, args)
        session.commit()
        return _agency(session, agency)


@blp.route("/agencies/<uuid:agency_id>/users")
class AgencyUsers(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(CollectionAgencyUserWriteSchema)
    @blp.response(201, CollectionAgencySchema)
    @blp.alt_response(409, description="The staff member already works for an agency")
    def post(self, args: dict[str, Any], agency_id: uuid.UUID) -> Any:
        """The staff member works for this agency from now on: they see only its cases."""
        sdk.acting_user_with("collections.manage")
        session = sdk.session()
        agency = setup.get_agency(session, agency_id)
        setup.add_agency_user(session, agency, args["user_id"])
        session.commit()
        return _agency(session, agency)


@blp.route("/scripts/<string:bucket>")
class Scripts(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(CollectionScriptWriteSchema)
    @blp.response(200, CollectionScriptSchema)
    def put(self, args: dict[str, Any], bucket: str) -> Any:
        """The script (话术) collectors see on cases in ``bucket`` (empty body: removed)."""
        sdk.acting_user_with("collections.manage")
        session = sdk.session()
        setup.save_script(session, bucket, args["body"])
        session.commit()
        return {"bucket": bucket, "body": setup.script_for(session, bucket) or ""}
