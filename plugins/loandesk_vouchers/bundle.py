"""``vouchers.yaml`` in tenant bundles (``loandesk tenant export|apply``): the chart-of-accounts
mapping (科目映射) as configuration, by voucher kind and ledger account. Applying adds and
changes mappings through ``mappings.save`` (audited); a mapping the file does not name is left
as it is, as in the core's files."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import marshmallow as ma
from marshmallow import validate
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_vouchers import mappings
from loandesk_vouchers.kinds import ACCOUNTS, ALL_KINDS, KINDS
from loandesk_vouchers.models import AUX

FILE = "vouchers.yaml"
KIND_KEYS = (ALL_KINDS, *KINDS)


class _Mapping(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    kind = ma.fields.String(required=True, validate=validate.OneOf(KIND_KEYS))
    account = ma.fields.String(required=True, validate=validate.OneOf(tuple(ACCOUNTS)))
    subject_code = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    subject_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    aux = ma.fields.String(load_default="none", validate=validate.OneOf(AUX))


class VouchersFile(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    mappings = ma.fields.List(ma.fields.Nested(_Mapping), load_default=list)


JSON_SCHEMA: dict[str, Any] = {
    "description": "vouchers.yaml: the vouchers plugin's chart-of-accounts mapping, by voucher "
    "kind (* for every kind) and ledger account (docs/connectors.md, Vouchers).",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "mappings": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["kind", "account", "subject_code", "subject_name"],
                "properties": {
                    "kind": {"enum": list(KIND_KEYS)},
                    "account": {"enum": list(ACCOUNTS)},
                    "subject_code": {"type": "string", "minLength": 1, "maxLength": 40},
                    "subject_name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "aux": {"enum": list(AUX)},
                },
            },
        }
    },
}


def export(session: Session, context: sdk.BundleContext) -> dict[str, Any]:
    return {
        "mappings": [
            {key: getattr(row, key) for key in mappings.FIELDS}
            for row in mappings.all_mappings(session)
        ]
    }


def check(
    session: Session, data: dict[str, Any], context: sdk.BundleContext
) -> Iterator[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    for index, spec in enumerate(data["mappings"]):
        key = (spec["kind"], spec["account"])
        if key in seen:
            yield f"mappings[{index}]", f"{spec['kind']}/{spec['account']} is mapped twice"
        seen.add(key)


def apply(session: Session, data: dict[str, Any], context: sdk.BundleContext) -> None:
    existing = mappings.resolver(session)
    for index, spec in enumerate(data["mappings"]):
        row = existing.get((spec["kind"], spec["account"]))
        if row is None:
            summary = f"map {spec['kind']}/{spec['account']}"
            context.change(f"mappings[{index}]", summary, mappings.save, session, spec)
        elif any(getattr(row, key) != spec[key] for key in mappings.FIELDS):
            context.change(f"mappings[{index}]", "update", mappings.save, session, spec, row.id)


BUNDLE_FILE = sdk.BundleFile(
    name=FILE,
    schema=VouchersFile,
    json_schema=JSON_SCHEMA,
    export=export,
    check=check,
    apply=apply,
)
