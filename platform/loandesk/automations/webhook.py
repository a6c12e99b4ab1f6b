"""The ``webhook`` action (调用 Webhook): POST the record as JSON to a receiver's URL, signed
with the tenant's secret (``automations.signing``). Its one parameter is the URL::

    {"type": "webhook", "url": "https://hooks.example.cn/loandesk"}

The URL is checked when the rule is saved and again for every request
(``automations.outbound``: https, no private addresses, unless the installation allows them).

The body (UTF-8 JSON)::

    {"rule": {"id": "…", "name": "审批通过通知核心系统"},
     "tenant": {"id": "…", "slug": "acme"},
     "record_type": "application", "record_id": "…", "title": "SQ202611280001",
     "event": "application.approved",        # null for a rule on a date field
     "trigger": {"kind": "event", "event": "application.approved"},
     "occurrence": "…",                       # the event's id, or the date that came due
     "fields": {"amount": "80000.00", "term_months": 12, "stage": "signing", …}}

``fields`` holds what conditions see: personal data (ID numbers, mobiles, bank cards,
addresses, names) and attachments are left out; money and decimals are strings, dates ISO.

Headers: ``X-LoanDesk-Timestamp`` (Unix seconds), ``X-LoanDesk-Signature: sha256=<hex of
HMAC-SHA256(secret, timestamp + "." + body)>`` and ``Idempotency-Key`` (the same for every
attempt of this action of this firing: a receiver that saw it already answers 2xx and does
nothing). An answer other than 2xx, or none within the timeout, fails the action: the firing
is retried with backoff and finally shows as failed with the status and the start of the
answer. The run log keeps the status only."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from loandesk.automations import outbound, signing
from loandesk.automations.rules import ActionType
from loandesk.fields.forms import Form
from loandesk.fields.validation import message
from loandesk.i18n import N_

USER_AGENT = "LoanDesk-Webhook/1"


def check_webhook(params: Mapping[str, Any], form: Form, session: Session) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if problem := outbound.url_problem(params.get("url"), outbound.Policy.of_app()):
        found["url"] = [message(problem)]
    for key in sorted(set(params) - {"url"}):
        found[key] = [message(N_("A webhook takes only its URL."))]
    return found


def payload(
    rule: Any, form: Form, record: Any, values: Mapping[str, Any], occurrence: str
) -> dict[str, Any]:
    """What the receiver gets for ``record`` (see the module's docstring)."""
    from loandesk.flows.engine import encode
    from loandesk.tenancy import current

    tenant = current()
    record_type = form.record_type
    trigger = dict(rule.trigger or {})
    return {
        "rule": {"id": str(rule.id), "name": rule.name},
        "tenant": {"id": str(tenant.id), "slug": tenant.slug},
        "record_type": record_type.key,
        "record_id": str(record.id),
        "title": str(getattr(record, record_type.title_field, "") or ""),
        "event": trigger.get("event") if trigger.get("kind") == "event" else None,
        "trigger": trigger,
        "occurrence": occurrence,
        "fields": encode(values, form.expression_kinds),
    }


def body_of(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def headers_for(secret: str, body: bytes, key: str, timestamp: int) -> dict[str, str]:
    stamp = str(timestamp)
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-LoanDesk-Timestamp": stamp,
        "X-LoanDesk-Signature": signing.signature(secret, stamp, body),
        "Idempotency-Key": key,
    }


def run_webhook(ctx: Any, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """Send the request; raise unless the receiver answers 2xx."""
    from loandesk import pii
    from loandesk.db import utcnow

    body = body_of(payload(ctx.rule, ctx.form, ctx.record, ctx.values, ctx.firing.occurrence))
    secret = signing.current(ctx.session, pii.for_current_tenant())
    headers = headers_for(secret.value, body, ctx.key, int(utcnow().timestamp()))
    answer = outbound.post(str(params["url"]), body, headers, outbound.Policy.of_app())
    if not 200 <= answer.status < 300:
        raise outbound.DeliveryFailed(f"HTTP {answer.status}: {answer.excerpt}")
    return {"status": answer.status}


def preview_webhook(
    session: Session, rule: Any, form: Form, record: Any, params: Mapping[str, Any]
) -> Mapping[str, Any]:
    from loandesk.automations.engine import values_of

    data = payload(rule, form, record, values_of(record, form), "(dry run)")
    if problem := outbound.url_problem(params.get("url"), outbound.Policy.of_app()):
        return {"fails": message(problem), "body": data}
    return {
        "would": message(
            N_("POST this body to %(url)s, signed with the tenant's webhook secret."),
            url=str(params.get("url")),
        ),
        "body": data,
    }


WEBHOOK = ActionType(
    "webhook",
    "调用 Webhook",
    "Call a webhook",
    check_webhook,
    run_webhook,
    preview=preview_webhook,
)
