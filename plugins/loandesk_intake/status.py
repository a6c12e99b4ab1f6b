"""The application's status machine (状态): draft → submitted → in_review → approved /
rejected / withdrawn → contracted, with returned (sent back to the submitter) in between.
The approval flow moves an application from submitted on (``service.flow_changed``);
``mark_contracted`` is the servicing plugins' step once a contract is signed."""

from __future__ import annotations

from sqlalchemy.orm import Session

from loandesk.sdk import N_, Conflict, audit_record, emit
from loandesk_intake.models import Application

# The status machine: which status may follow which. From submitted on the approval flow
# moves the application (``flow_changed`` follows it: the engine keeps its own states, and a
# withdrawn one may be put into approval again); ``mark_contracted`` is the servicing
# plugins' step once a contract is signed, refused from anything but approved.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("submitted",),
    "submitted": ("in_review", "returned", "approved", "rejected", "withdrawn"),
    "in_review": ("returned", "approved", "rejected"),
    "returned": ("submitted", "withdrawn"),
    "approved": ("contracted",),
    "rejected": (),
    "withdrawn": ("submitted",),
    "contracted": (),
}


def check_transition(before: str, after: str) -> None:
    """409 unless ``after`` may follow ``before``."""
    if after not in TRANSITIONS.get(before, ()):
        raise Conflict(
            N_("An application cannot go from %(before)s to %(after)s."),
            params={"before": before, "after": after},
        )


def mark_contracted(session: Session, application: Application) -> Application:
    """An approved application's contract was signed (签约): it becomes ``contracted``,
    audited, with the ``application.contracted`` event. 409 from any other status."""
    check_transition(application.status, "contracted")
    application.status = "contracted"
    session.flush()
    audit_record(
        session,
        "application.status",
        "application",
        application.id,
        {"status": ["approved", "contracted"]},
    )
    emit(session, "application.contracted", "application", application.id, {})
    return application
