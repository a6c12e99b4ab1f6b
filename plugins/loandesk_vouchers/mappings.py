"""The chart-of-accounts mapping (科目映射): per tenant, which account of the firm's chart each
ledger account posts to, for one voucher kind or for all (``*``). Changes are audited."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_vouchers.kinds import ACCOUNTS, ALL_KINDS, KINDS
from loandesk_vouchers.models import AUX, AccountMapping

FIELDS = ("kind", "account", "subject_code", "subject_name", "aux")


def all_mappings(session: Session) -> list[AccountMapping]:
    return list(
        session.scalars(
            select(AccountMapping).order_by(AccountMapping.kind, AccountMapping.account)
        )
    )


def get(session: Session, mapping_id: Any) -> AccountMapping:
    found = session.get(AccountMapping, (sdk.current().id, mapping_id))
    if found is None:
        raise sdk.NotFound(sdk.N_("No such account mapping."))
    return found


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    clean = {key: str(values.get(key) or "").strip() for key in FIELDS}
    clean["aux"] = clean["aux"] or "none"
    if clean["kind"] != ALL_KINDS and clean["kind"] not in KINDS:
        errors["kind"] = [sdk.message(sdk.N_("Choose a voucher kind or * for all kinds."))]
    if clean["account"] not in ACCOUNTS:
        errors["account"] = [sdk.message(sdk.N_("Choose an account of the loan ledger."))]
    for key, size in (("subject_code", 40), ("subject_name", 100)):
        if not clean[key]:
            errors[key] = [sdk.message(sdk.N_("Enter a value."))]
        elif len(clean[key]) > size:
            errors[key] = [sdk.message(sdk.N_("At most %(size)d characters."), size=size)]
    if clean["aux"] not in AUX:
        errors["aux"] = [sdk.message(sdk.N_("Choose none, customer or product."))]
    if errors:
        raise sdk.ValidationFailed(sdk.N_("Some fields need attention."), errors=errors)
    return clean


def save(
    session: Session, values: dict[str, Any], mapping_id: uuid.UUID | None = None
) -> AccountMapping:
    """Add a mapping, or change ``mapping_id``'s; 409 when the kind and account are mapped
    already; audited with what changed."""
    clean = _clean(values)
    row = get(session, mapping_id) if mapping_id is not None else None
    twin = session.scalar(
        select(AccountMapping).where(
            AccountMapping.kind == clean["kind"], AccountMapping.account == clean["account"]
        )
    )
    if twin is not None and (row is None or twin.id != row.id):
        raise sdk.Conflict(sdk.N_("This kind and account are mapped already."))
    before = {key: getattr(row, key) for key in FIELDS} if row is not None else {}
    if row is None:
        row = AccountMapping(**clean)
        session.add(row)
    else:
        for key, value in clean.items():
            setattr(row, key, value)
    row.updated_at = sdk.utcnow()
    session.flush()
    diff = {key: [before.get(key), clean[key]] for key in FIELDS if before.get(key) != clean[key]}
    if diff:
        sdk.audit_record(session, "vouchers.mapping_saved", "vouchers_mapping", row.id, diff)
    return row


def remove(session: Session, mapping_id: uuid.UUID) -> None:
    row = get(session, mapping_id)
    sdk.audit_record(
        session,
        "vouchers.mapping_removed",
        "vouchers_mapping",
        row.id,
        {key: [getattr(row, key), None] for key in FIELDS},
    )
    session.delete(row)
    session.flush()


def resolver(session: Session) -> dict[tuple[str, str], AccountMapping]:
    return {(m.kind, m.account): m for m in all_mappings(session)}


def lookup(
    mappings: dict[tuple[str, str], AccountMapping], kind: str, account: str
) -> AccountMapping | None:
    """The kind's own mapping of ``account``, else the one for every kind."""
    return mappings.get((kind, account)) or mappings.get((ALL_KINDS, account))
