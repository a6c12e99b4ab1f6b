"""``collections.yaml`` in tenant bundles (``loandesk_bundle_files``): agencies (委外机构) and
their staff, queues (催收队列) with balancing and members, the ordered assignment rules
(分案规则) and the scripts (催收话术) per bucket. Staff are named by e-mail, agencies and
queues by code, units by their path of names, products and buckets by code. Each change goes
through the service of ``setup`` (or, for what it has no update for, an audited one here)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import marshmallow as ma
from marshmallow import validate
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_, ValidationFailed
from loandesk_collections import setup
from loandesk_collections.assign import split
from loandesk_collections.models import BALANCING, Agency, AgencyUser, Queue

FILE = "collections.yaml"
_AMOUNT = r"^\d{1,13}(\.\d{1,2})?$"


class _Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class _Agency(_Strict):
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=20))
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    members = ma.fields.List(ma.fields.Email(), load_default=list)


class _Queue(_Strict):
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=20))
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    balancing = ma.fields.String(load_default="round_robin", validate=validate.OneOf(BALANCING))
    agency = ma.fields.String(load_default=None, allow_none=True)
    members = ma.fields.List(ma.fields.Email(), load_default=list)


class _Rule(_Strict):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    queue = ma.fields.String(required=True)
    buckets = ma.fields.List(ma.fields.String(validate=validate.Length(min=1)), load_default=list)
    products = ma.fields.List(ma.fields.String(validate=validate.Length(min=1)), load_default=list)
    min_overdue = ma.fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(_AMOUNT)
    )
    max_overdue = ma.fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(_AMOUNT)
    )
    unit = ma.fields.List(ma.fields.String(), load_default=None, allow_none=True)


class CollectionsFile(_Strict):
    agencies = ma.fields.List(ma.fields.Nested(_Agency), load_default=list)
    queues = ma.fields.List(ma.fields.Nested(_Queue), load_default=list)
    rules = ma.fields.List(ma.fields.Nested(_Rule), load_default=None, allow_none=True)
    scripts = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.Length(min=1, max=10)),
        values=ma.fields.String(validate=validate.Length(max=10000)),
        load_default=dict,
    )


_EMAILS = {"type": "array", "items": {"$ref": "#/$defs/email"}}
_CODE = {"type": "string", "minLength": 1, "maxLength": 20}
_NAME = {"type": "string", "minLength": 1, "maxLength": 100}
_MONEY = {"type": ["string", "null"], "pattern": _AMOUNT}
JSON_SCHEMA: dict[str, Any] = {
    "description": "collections.yaml: the collections plugin's agencies, queues, ordered "
    "assignment rules and scripts per bucket (docs/collections.md).",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "agencies": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["code", "name"],
                "properties": {"code": _CODE, "name": _NAME, "members": _EMAILS},
            },
        },
        "queues": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["code", "name"],
                "properties": {
                    "code": _CODE,
                    "name": _NAME,
                    "balancing": {"enum": list(BALANCING)},
                    "agency": {"type": ["string", "null"]},
                    "members": _EMAILS,
                },
            },
        },
        "rules": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "queue"],
                "properties": {
                    "name": _NAME,
                    "queue": {"type": "string"},
                    "buckets": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "products": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "min_overdue": _MONEY,
                    "max_overdue": _MONEY,
                    "unit": {"type": ["array", "null"], "items": {"type": "string"}},
                },
            },
        },
        "scripts": {
            "type": "object",
            "propertyNames": {"minLength": 1, "maxLength": 10},
            "additionalProperties": {"type": "string", "maxLength": 10000},
        },
    },
}


# --- export ----------------------------------------------------------------------------------


def _emails(context: sdk.BundleContext, ids: list[uuid.UUID]) -> list[str]:
    return [e for e in (context.email(i) for i in ids) if e is not None]


def _rule_entries(session: Session, context: sdk.BundleContext) -> list[dict[str, Any]]:
    codes = {q.id: q.code for q in setup.queues(session)}
    found = []
    for rule in setup.rules(session):
        entry: dict[str, Any] = {"name": rule.name, "queue": codes[rule.queue_id]}
        entry["buckets"] = sorted(split(rule.buckets))
        entry["products"] = sorted(split(rule.product_codes))
        entry["min_overdue"] = None if rule.min_overdue is None else f"{rule.min_overdue:.2f}"
        entry["max_overdue"] = None if rule.max_overdue is None else f"{rule.max_overdue:.2f}"
        entry["unit"] = context.unit_path(rule.org_unit_id)
        found.append(entry)
    return found


def export(session: Session, context: sdk.BundleContext) -> dict[str, Any]:
    agency_codes = {a.id: a.code for a in setup.agencies(session)}
    return {
        "agencies": [
            {
                "code": a.code,
                "name": a.name,
                "members": sorted(_emails(context, setup.agency_users(session, a))),
            }
            for a in setup.agencies(session)
        ],
        "queues": [
            {
                "code": q.code,
                "name": q.name,
                "balancing": q.balancing,
                "agency": agency_codes.get(q.agency_id) if q.agency_id else None,
                "members": _emails(context, setup.members(session, q)),
            }
            for q in setup.queues(session)
        ],
        "rules": _rule_entries(session, context),
        "scripts": setup.scripts(session),
    }


# --- check -----------------------------------------------------------------------------------


def _twice(items: list[dict[str, Any]], key: str, path: str) -> Iterator[tuple[str, str]]:
    values = [i[key] for i in items]
    for value in sorted({v for v in values if values.count(v) > 1}):
        yield path, f"{key} {value!r} appears twice"


def check(
    session: Session, data: dict[str, Any], context: sdk.BundleContext
) -> Iterator[tuple[str, str]]:
    agencies, queues = data["agencies"], data["queues"]
    yield from _twice(agencies, "code", "agencies")
    yield from _twice(queues, "code", "queues")

    def staff(emails: list[str], path: str) -> Iterator[tuple[str, str]]:
        for index, email in enumerate(emails):
            if context.user_id(email) is None:
                yield f"{path}[{index}]", f"no active staff member {email!r} in this tenant"

    listed: dict[str, str] = {}  # e-mail → agency code, as the file has them
    for index, agency in enumerate(agencies):
        yield from staff(agency["members"], f"agencies[{index}].members")
        for email in map(str.lower, agency["members"]):
            if email in listed:
                yield f"agencies[{index}].members", f"{email!r} already works for {listed[email]!r}"
            listed.setdefault(email, agency["code"])
    for row in session.execute(
        select(Agency.code, AgencyUser.user_id).join(AgencyUser, AgencyUser.agency_id == Agency.id)
    ):
        holder = context.email(row.user_id)
        named = any(a["code"] == row.code for a in agencies)
        if holder in listed and not named and listed[holder] != row.code:
            yield (
                "agencies",
                f"{holder!r} works for agency {row.code!r}, which the file leaves as it is",
            )
    agency_codes = {a.code for a in setup.agencies(session)} | {a["code"] for a in agencies}
    for index, queue in enumerate(queues):
        yield from staff(queue["members"], f"queues[{index}].members")
        if queue["agency"] is not None and queue["agency"] not in agency_codes:
            yield f"queues[{index}].agency", f"no agency {queue['agency']!r}"
    queue_codes = {q.code for q in setup.queues(session)} | {q["code"] for q in queues}
    for index, rule in enumerate(data["rules"] or ()):
        if rule["queue"] not in queue_codes:
            yield f"rules[{index}].queue", f"no queue {rule['queue']!r}"
        if rule["unit"] is not None and context.unit_id(rule["unit"]) is None:
            yield f"rules[{index}].unit", f"no org unit {rule['unit']!r} (a path of names)"
        low, high = rule["min_overdue"], rule["max_overdue"]
        if low is not None and high is not None and Decimal(low) > Decimal(high):
            yield f"rules[{index}].max_overdue", "the upper bound must not be below the lower one"


# --- apply -----------------------------------------------------------------------------------


def _update_agency(session: Session, agency: Agency, name: str) -> None:
    before, agency.name = agency.name, name
    session.flush()
    sdk.audit_record(
        session,
        "collection_agency.update",
        "collection_agency",
        agency.id,
        {"name": [before, name]},
    )


def _remove_agency_user(session: Session, agency: Agency, user_id: uuid.UUID) -> None:
    """The staff member no longer works for ``agency`` (its cases stay where they are)."""
    session.execute(
        delete(AgencyUser).where(AgencyUser.agency_id == agency.id, AgencyUser.user_id == user_id)
    )
    sdk.audit_record(
        session,
        "collection_agency.remove_user",
        "collection_agency",
        agency.id,
        {"user_id": str(user_id)},
    )


def _update_queue(session: Session, queue: Queue, values: dict[str, Any]) -> None:
    """The queue's name, balancing or agency (its cases and members stay)."""
    if values.get("balancing", queue.balancing) not in BALANCING:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"balancing": [sdk.message(N_("Choose one of the listed values."))]},
        )
    before = {k: getattr(queue, k) for k in values}
    for key, value in values.items():
        setattr(queue, key, value)
    session.flush()
    sdk.audit_record(
        session,
        "collection_queue.update",
        "collection_queue",
        queue.id,
        {k: [_plain(before[k]), _plain(v)] for k, v in values.items()},
    )


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


def apply(session: Session, data: dict[str, Any], context: sdk.BundleContext) -> None:
    _agencies(session, data["agencies"], context)
    _queues(session, data["queues"], context)
    if data["rules"] is not None:
        _rules(session, data["rules"], context)
    for bucket, body in sorted(data["scripts"].items()):
        if (setup.script_for(session, bucket) or "") != body.strip():
            summary = "remove" if not body.strip() else "save"
            context.change(f"scripts.{bucket}", summary, setup.save_script, session, bucket, body)


def _agencies(session: Session, wanted: list[dict[str, Any]], context: sdk.BundleContext) -> None:
    existing = {a.code: a for a in setup.agencies(session)}
    members: list[tuple[int, Agency, list[uuid.UUID]]] = []
    for index, spec in enumerate(wanted):
        where, agency = f"agencies[{index}]", existing.get(spec["code"])
        if agency is None:
            agency = context.change(
                where,
                f"create agency {spec['code']!r}",
                setup.create_agency,
                session,
                {"code": spec["code"], "name": spec["name"]},
            )
        elif agency.name != spec["name"]:
            context.change(where, "update name", _update_agency, session, agency, spec["name"])
        ids = [i for i in (context.user_id(e) for e in spec["members"]) if i is not None]
        members.append((index, agency, ids))
    for index, agency, ids in members:  # everyone leaves before anyone joins another
        for user_id in setup.agency_users(session, agency):
            if user_id not in ids:
                context.change(
                    f"agencies[{index}].members",
                    f"remove {context.email(user_id)}",
                    _remove_agency_user,
                    session,
                    agency,
                    user_id,
                )
    for index, agency, ids in members:
        have = set(setup.agency_users(session, agency))
        for user_id in ids:
            if user_id not in have:
                context.change(
                    f"agencies[{index}].members",
                    f"add {context.email(user_id)}",
                    setup.add_agency_user,
                    session,
                    agency,
                    user_id,
                )


def _queues(session: Session, wanted: list[dict[str, Any]], context: sdk.BundleContext) -> None:
    existing = {q.code: q for q in setup.queues(session)}
    agency_ids = {a.code: a.id for a in setup.agencies(session)}
    for index, spec in enumerate(wanted):
        where, queue = f"queues[{index}]", existing.get(spec["code"])
        agency_id = agency_ids.get(spec["agency"]) if spec["agency"] else None
        ids = [i for i in (context.user_id(e) for e in spec["members"]) if i is not None]
        if queue is None:
            values = {
                "code": spec["code"],
                "name": spec["name"],
                "balancing": spec["balancing"],
                "agency_id": agency_id,
                "members": ids,
            }
            context.change(
                where, f"create queue {spec['code']!r}", setup.create_queue, session, values
            )
            continue
        wanted_values = {
            "name": spec["name"],
            "balancing": spec["balancing"],
            "agency_id": agency_id,
        }
        differs = {k: v for k, v in wanted_values.items() if getattr(queue, k) != v}
        if differs:
            context.change(
                where,
                "update " + ", ".join(sorted(differs)),
                _update_queue,
                session,
                queue,
                differs,
            )
        if setup.members(session, queue) != list(dict.fromkeys(ids)):
            context.change(
                f"{where}.members",
                f"set {len(ids)} members",
                setup.set_members,
                session,
                queue,
                ids,
            )


def _normal(spec: dict[str, Any]) -> dict[str, Any]:
    """A rule of the file as export writes it: lists sorted, amounts with two decimals."""

    def amount(value: str | None) -> str | None:
        return None if value is None else f"{Decimal(value):.2f}"

    return spec | {
        "buckets": sorted(set(spec["buckets"])),
        "products": sorted(set(spec["products"])),
        "min_overdue": amount(spec["min_overdue"]),
        "max_overdue": amount(spec["max_overdue"]),
    }


def _rules(session: Session, wanted: list[dict[str, Any]], context: sdk.BundleContext) -> None:
    """The file's rules are the tenant's whole ordered list: when they differ, the tenant's
    rules are deleted and the file's created in its order (a rule has no code to match by)."""
    if _rule_entries(session, context) == [_normal(spec) for spec in wanted]:
        return
    for rule in setup.rules(session):
        context.change("rules", f"delete rule {rule.name!r}", setup.delete_rule, session, rule.id)
    queue_ids = {q.code: q.id for q in setup.queues(session)}
    for index, spec in enumerate(wanted):
        unit = context.unit_id(spec["unit"]) if spec["unit"] is not None else None
        values = {
            "name": spec["name"],
            "queue_id": queue_ids.get(spec["queue"]),
            "buckets": ", ".join(spec["buckets"]),
            "product_codes": ", ".join(spec["products"]),
            "min_overdue": spec["min_overdue"],
            "max_overdue": spec["max_overdue"],
            "org_unit_id": unit,
            "position": (index + 1) * 10,
        }
        context.change(
            f"rules[{index}]", f"create rule {spec['name']!r}", setup.create_rule, session, values
        )


BUNDLE_FILE = sdk.BundleFile(
    name=FILE,
    schema=CollectionsFile,
    json_schema=JSON_SCHEMA,
    export=export,
    check=check,
    apply=apply,
)
