"""Applications as the servicing plugins see them: the summary a loan booked from one reads
(``loandesk_application_for_loan``), and the step after booking — when the loan's contract
is signed (``contract.signed``), its application becomes ``contracted``. No Flask."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_intake import status
from loandesk_intake.models import Application, Product

log = logging.getLogger(__name__)


def summary(session: Session, application_id: uuid.UUID) -> sdk.ApplicationSummary | None:
    """The current tenant's application as plain values, or None. Read whatever the asker's
    data scope: booking checks the link, the booking page decides who may book."""
    found = session.scalar(select(Application).where(Application.id == application_id))
    if found is None:
        return None
    code = None
    if found.product_id is not None:
        code = session.scalar(select(Product.code).where(Product.id == found.product_id))
    return sdk.ApplicationSummary(
        id=found.id,
        number=found.number,
        customer_id=found.customer_id,
        amount=found.amount,
        term_months=found.term_months,
        product_code=code,
        status=found.status,
        owner_id=found.owner_id,
    )


def on_contract_signed(ctx: sdk.JobContext, event: sdk.Event) -> None:
    """A loan's contract was signed: the application it was booked from is contracted.
    Idempotent (delivered at least once): an application already contracted is left alone;
    one that is not approved (withdrawn after booking, say) is logged and skipped rather than
    failing the delivery, which would only be retried to the same end."""
    session = ctx.session
    try:
        loan = sdk.loan_book().get(session, event.payload.get("loan_id"))
    except sdk.NotFound:  # no loan-keeping plugin for this tenant: no application to move
        return
    if loan is None or loan.application_id is None:
        return
    application = session.scalar(
        select(Application).where(Application.id == loan.application_id).with_for_update()
    )
    if application is None or application.status == "contracted":
        return
    if application.status != "approved":
        log.warning(
            "contract %s signed for loan %s: application %s is %s, not approved; left as is",
            event.record_id,
            loan.id,
            application.id,
            application.status,
        )
        return
    status.mark_contracted(session, application)


class Intake:
    """``sdk.ApplicationIntake``: draft applications started by other plugins (a lead
    converted into an application), through the same checks as one typed in."""

    def create_draft(
        self,
        session: Session,
        access: sdk.RecordAccess,
        keys: sdk.Keyring,
        values: Mapping[str, Any],
        *,
        owner_id: uuid.UUID,
        context: sdk.ValueContext,
    ) -> uuid.UUID:
        from loandesk_intake.service import create_application

        form = sdk.current_form("application")
        application = create_application(
            session, access, keys, form, values, owner_id=owner_id, context=context
        )
        return application.id
