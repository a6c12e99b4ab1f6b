"""The viewer's data scope over loans (record type ``loan``) applied to this plugin's rows,
which carry the loan's ``owner_id`` and ``org_unit_id``: the same rule as ``RecordAccess.where``
on the loans themselves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false

from loandesk import sdk


def scoped(statement: Any, model: Any, access: sdk.RecordAccess | None = None) -> Any:
    access = access or sdk.record_access("loan")
    if access.scope is None:
        return statement.where(false())
    if access.scope == "all":
        return statement
    if access.scope in ("team", "unit") and access.unit_ids:
        return statement.where(
            model.org_unit_id.in_(access.unit_ids) | (model.owner_id == access.user_id)
        )
    return statement.where(model.owner_id == access.user_id)


def loan_in_scope(loan: sdk.LoanSummary | None) -> sdk.LoanSummary:
    """``loan`` if the viewer's scope over loans reaches it; ``NotFound`` otherwise (as if it
    did not exist: another tenant's, or out of scope)."""
    access = sdk.record_access("loan")
    if loan is None or not access.reaches(loan):
        raise sdk.NotFound(sdk.N_("No such loan."))
    return loan
