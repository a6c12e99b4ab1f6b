"""The words staff see for the states and actions of approvals (translated at display time)."""

from __future__ import annotations

from flask_babel import gettext, lazy_gettext

# instance states: label and badge style
STATES = {
    "running": (lazy_gettext("In approval"), ""),
    "returned": (lazy_gettext("Sent back"), "badge-warning"),
    "approved": (lazy_gettext("Approved"), "badge-success"),
    "rejected": (lazy_gettext("Rejected"), "badge-danger"),
    "withdrawn": (lazy_gettext("Withdrawn"), "badge-muted"),
}

STEP_STATES = {
    "active": (lazy_gettext("In progress"), ""),
    "approved": (lazy_gettext("Approved"), "badge-success"),
    "rejected": (lazy_gettext("Rejected"), "badge-danger"),
    "returned": (lazy_gettext("Sent back"), "badge-warning"),
    "cancelled": (lazy_gettext("Ended"), "badge-muted"),
}

TASK_STATES = {
    "waiting": (lazy_gettext("Waiting for their turn"), "badge-muted"),
    "pending": (lazy_gettext("To decide"), ""),
    "approved": (lazy_gettext("Approved"), "badge-success"),
    "rejected": (lazy_gettext("Rejected"), "badge-danger"),
    "transferred": (lazy_gettext("Transferred"), "badge-muted"),
    "cancelled": (lazy_gettext("Not needed"), "badge-muted"),
}

MODES = {
    "any": lazy_gettext("Any one approves (or-sign)"),
    "all": lazy_gettext("All approve (countersign)"),
    "sequence": lazy_gettext("All approve, in turn"),
    "ratio": lazy_gettext("Enough approve (by ratio)"),
}

TIMEOUT_ACTIONS = {
    "remind": lazy_gettext("approvers reminded"),
    "approve": lazy_gettext("approved automatically"),
    "reject": lazy_gettext("rejected automatically"),
    "transfer": lazy_gettext("transferred automatically"),
}


def state(value: str) -> tuple[str, str]:
    label, style = STATES.get(value, (value, ""))
    return str(label), style


def step_state(value: str) -> tuple[str, str]:
    label, style = STEP_STATES.get(value, (value, ""))
    return str(label), style


def task_state(value: str) -> tuple[str, str]:
    label, style = TASK_STATES.get(value, (value, ""))
    return str(label), style


def action(
    kind: str, detail: dict[str, object], name_of: dict[str, str], node_of: dict[str, str]
) -> str:
    """One timeline entry in words. ``name_of``: user id -> name; ``node_of``: node id ->
    node name (both as text)."""

    def names(key: str) -> str:
        found = detail.get(key) or []
        ids = found if isinstance(found, list) else [found]
        return ", ".join(name_of.get(str(i), gettext("a former staff member")) for i in ids)

    if kind == "submitted":
        if detail.get("rule"):
            return gettext("Submitted by the automation rule %(rule)s", rule=str(detail["rule"]))
        return gettext("Submitted")
    if kind == "resubmitted":
        return gettext("Submitted again")
    if kind == "assigned":
        return gettext("Waiting for %(names)s", names=names("assignees"))
    if kind == "blocked":
        return gettext("Nobody could be assigned: a flow manager must hand this step on")
    if kind == "skipped":
        return gettext("Skipped: nobody to approve")
    if kind == "approved":
        return gettext("Approved")
    if kind == "rejected":
        return gettext("Rejected")
    if kind == "sent_back":
        to = str(detail.get("to") or "")
        if to == "submitter":
            return gettext("Sent back to the submitter")
        return gettext("Sent back to %(node)s", node=node_of.get(to, to))
    if kind == "transferred":
        return gettext("Transferred to %(name)s", name=names("to"))
    if kind == "signer_added":
        if detail.get("where") == "before":
            return gettext("Asked %(name)s to approve first", name=names("user"))
        return gettext("Approved and asked %(name)s to approve after", name=names("user"))
    if kind == "withdrawn":
        return gettext("Withdrawn by the submitter")
    if kind == "commented":
        return gettext("Commented")
    if kind == "copied":
        return gettext("Copied to %(names)s", names=names("users") or "—")
    if kind == "automated":
        return gettext("Set the field %(field)s", field=str(detail.get("field") or ""))
    if kind == "automation_skipped":
        return gettext("Could not set the field %(field)s", field=str(detail.get("field") or ""))
    if kind == "timed_out":
        what = TIMEOUT_ACTIONS.get(str(detail.get("action")), "")
        return gettext("Deadline passed: %(what)s", what=str(what))
    if kind == "finished":
        return gettext("Finished: %(outcome)s", outcome=state(str(detail.get("outcome")))[0])
    return kind
