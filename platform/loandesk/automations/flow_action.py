"""The ``start_flow`` action: put the record into approval with its record type's published
flow, as if its owner had submitted it (发起审批). It takes no parameters::

    {"type": "start_flow"}

Only record types that go through approval (``RecordType.on_flow``) offer it, and a rule
using it is refused while the tenant has published no flow for the record type.

The rule acts as the system: the record's owner is the submitter (the flow resolves "the
submitter's manager" from them, and they may withdraw it), the approval's timeline names
the rule, and the audit log shows the system. A record whose approval is running, sent back
to its submitter, approved or rejected is left alone, and the result says so: a second
firing, or an event delivered again, never starts a second approval. A withdrawn approval
may be started again. A record missing a required field is not submitted: the action fails
(so the run shows as failed, and is retried while someone fills the field in)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from loandesk.automations.rules import ActionType
from loandesk.fields.forms import Form
from loandesk.fields.registry import RecordType
from loandesk.fields.validation import message
from loandesk.i18n import N_

# the states of a record's latest approval in which it is not submitted again, and why
LEFT_ALONE = {
    "running": N_("The record is already in approval."),
    "returned": N_("The record was sent back to its submitter, who resubmits it."),
    "approved": N_("The record's approval has finished: approved."),
    "rejected": N_("The record's approval has finished: rejected."),
}
NO_OWNER = N_("The record has no owner to submit it.")


def has_approval(record_type: RecordType) -> bool:
    return record_type.on_flow is not None


def check_start_flow(
    params: Mapping[str, Any], form: Form, session: Session
) -> dict[str, list[str]]:
    from loandesk.flows.engine import published

    if published(session, form.record_type.key) is None:
        text = N_(
            "No approval flow is published for this record type yet: publish one in the "
            "flow designer first."
        )
        return {"flow": [message(text)]}
    return {}


def missing_fields(form: Form, record: Any, values: Mapping[str, Any]) -> list[str]:
    """Required fields (shown by the form for these values) that are empty, as the record's
    module checks them when staff submit it."""
    shown = form.shown(values)
    custom = getattr(record, "custom", None) or {}
    return [
        spec.key
        for spec in form.fields
        if spec.required
        and not spec.read_only
        and spec.key in shown
        and (
            values.get(spec.key) in (None, "", [])
            if spec.key in values
            else spec.custom and spec.encrypted and spec.key not in custom
        )
    ]


def _blocked(session: Session, record_type: RecordType, record: Any) -> tuple[Any, str | None]:
    """The record's latest approval, and why it is not submitted again (None: it may be)."""
    from loandesk.flows.service import latest

    last = latest(session, record_type.key, record.id)
    return last, LEFT_ALONE.get(last.state) if last is not None else None


def run_start_flow(ctx: Any, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """Submit the record for approval in the rule's transaction (the record's module sets its
    status through ``on_flow``)."""
    from loandesk.flows.service import submit_for_approval

    last, why = _blocked(ctx.session, ctx.record_type, ctx.record)
    if why is not None:
        return {"skipped": message(why), "approval": str(last.id)}
    owner = getattr(ctx.record, ctx.record_type.owner_column, None)
    if owner is None:
        return {"skipped": message(NO_OWNER)}
    if missing := missing_fields(ctx.form, ctx.record, ctx.values):
        raise ValueError(f"required fields are empty: {', '.join(missing)}")
    instance = submit_for_approval(
        ctx.session,
        ctx.record_type,
        ctx.record,
        ctx.form,
        ctx.values,
        submitter_id=owner,
        title=str(getattr(ctx.record, ctx.record_type.title_field, "") or ""),
        rule=ctx.rule.name,
    )
    if instance is None:
        raise LookupError(f"no approval flow is published for {ctx.record_type.key}")
    return {"approval": str(instance.id), "state": instance.state}


def preview_start_flow(
    session: Session, rule: Any, form: Form, record: Any, params: Mapping[str, Any]
) -> Mapping[str, Any]:
    from loandesk.auth.users import display_names
    from loandesk.automations.engine import values_of
    from loandesk.flows.engine import published

    record_type = form.record_type
    _last, why = _blocked(session, record_type, record)
    if why is not None:
        return {"skipped": message(why)}
    owner = getattr(record, record_type.owner_column, None)
    if owner is None:
        return {"skipped": message(NO_OWNER)}
    version = published(session, record_type.key)
    if version is None:
        return {"fails": message(N_("No approval flow is published for this record type."))}
    if missing := missing_fields(form, record, values_of(record, form)):
        return {"fails": message(N_("Required fields are empty: %(fields)s."),
                                 fields=", ".join(missing))}  # fmt: skip
    return {
        "would": message(
            N_("Submit the record for approval with %(flow)s (version %(version)s)."),
            flow=version.name,
            version=version.number,
        ),
        "submitter": display_names(session, [owner]).get(owner, str(owner)),
    }


START_FLOW = ActionType(
    "start_flow",
    "发起审批",
    "Start the approval flow",
    check_start_flow,
    run_start_flow,
    applies=has_approval,
    preview=preview_start_flow,
)
