"""What staff see for the plugin's codes (translated where shown)."""

from __future__ import annotations

from loandesk.sdk import N_

KIND_LABELS = {
    "call": N_("Phone call"),
    "sms": N_("SMS"),
    "visit": N_("Visit"),
    "letter": N_("Letter"),
    "note": N_("Note"),
}
OUTCOME_LABELS = {
    "promised": N_("Promised to pay"),
    "paid_claimed": N_("Says already paid"),
    "no_answer": N_("No answer"),
    "busy": N_("Busy"),
    "refused": N_("Refused to pay"),
    "wrong_number": N_("Wrong number"),
    "third_party": N_("Reached a third party"),
    "callback": N_("Call back later"),
    "delivered": N_("Delivered"),
    "not_delivered": N_("Not delivered"),
    "met": N_("Met the borrower"),
    "not_found": N_("Borrower not found"),
    "other": N_("Other"),
}
CASE_STATUS_LABELS = {"open": N_("Open"), "closed": N_("Closed")}
PROMISE_STATUS_LABELS = {"open": N_("Pending"), "kept": N_("Kept"), "broken": N_("Broken")}
BALANCING_LABELS = {"round_robin": N_("Round robin"), "least_loaded": N_("Least loaded")}
REASON_LABELS = {
    "opened": N_("Opened"),
    "rolled": N_("Rolled to the next bucket"),
    "early": N_("Early collection"),
    "manual": N_("By hand"),
    "reopened": N_("Reopened"),
}
RELATION_LABELS = {
    "spouse": N_("Spouse"),
    "parent": N_("Parent"),
    "sibling": N_("Sibling"),
    "child": N_("Child"),
    "colleague": N_("Colleague"),
    "friend": N_("Friend"),
    "other": N_("Other"),
}
