"""The ``notify`` action: a message about the record to staff (the record's owner, a role's
holders or a named user; in-app, and by e-mail for those who chose it) or to the borrower
(through the SMS or e-mail channel the rule names, to a phone number or e-mail read from a
field of the record or of the record it links to: ``mobile`` or ``customer_id.mobile``).

Texts are per language, Jinja templates over the record's fields (checked when the rule is
saved, rendered in the sandbox)::

    {"type": "notify", "to": {"kind": "borrower", "channel": "sms", "field": "customer_id.mobile"},
     "texts": {"zh_CN": {"body": "您的借款 {{ amount }} 元已获批准"},
               "en": {"body": "Your loan of {{ amount }} is approved"}},
     "urgent": false}

A staff member gets the text of their own language, a borrower the tenant's; a language
without a text falls back to the other. An SMS to the borrower may instead use one of the
tenant's SMS templates, each param a Jinja template over the same fields (no ``texts``)::

    {"type": "notify", "to": {"kind": "borrower", "channel": "sms", "field": "mobile"},
     "sms_template": {"key": "loan.approved", "params": {"amount": "{{ amount }}"}}}
 The message key is the action's ``ctx.key``, so a
retried firing finds what it queued."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from loandesk.automations.rules import ActionType
from loandesk.fields.forms import Form
from loandesk.fields.registry import FieldSpec
from loandesk.fields.validation import message
from loandesk.i18n import N_

LANGUAGES = ("zh_CN", "en")
TO_KINDS = ("owner", "role", "user", "borrower")


def _language(locale: str | None) -> str:
    return "en" if (locale or "").startswith("en") else "zh_CN"


def _check_texts(texts: Any, form: Form) -> dict[str, list[str]]:
    from loandesk.automations.templates import problems

    if not isinstance(texts, Mapping) or not any(lang in texts for lang in LANGUAGES):
        return {"texts": [message(N_("Write the message in Chinese, English or both."))]}
    found: dict[str, list[str]] = {}
    names = list(form.expression_kinds)
    for lang in LANGUAGES:
        text = texts.get(lang)
        if text is None:
            continue
        if not isinstance(text, Mapping):
            found[f"texts.{lang}"] = [message(N_("Enter a text."))]
            continue
        if wrong := problems(text.get("body"), names):
            found[f"texts.{lang}.body"] = wrong
        if text.get("subject") and (wrong := problems(text.get("subject"), names)):
            found[f"texts.{lang}.subject"] = wrong
    return found


def _address_spec(form: Form, path: Any) -> tuple[FieldSpec, FieldSpec | None] | None:
    """The field a borrower's address is read from: ``mobile`` (a field of the record) or
    ``customer_id.mobile`` (a field of the record a link field points at)."""
    from loandesk.errors import NotFound
    from loandesk.fields.current import current_form

    first, _, second = str(path or "").partition(".")
    spec = next((f for f in form.fields if f.key == first), None)
    if spec is None or not second:
        return (spec, None) if spec is not None else None
    if spec.kind != "link" or not spec.link_type:
        return None
    try:
        linked = current_form(spec.link_type)
    except NotFound:
        return None
    target = next((f for f in linked.fields if f.key == second), None)
    return (spec, target) if target is not None else None


def check_notify(params: Mapping[str, Any], form: Form, session: Session) -> dict[str, list[str]]:
    """Whom (staff by owner/role/user, or the borrower through a channel and a field), the
    texts per language, and ``urgent``."""
    from loandesk.automations.actions import _role_exists, _user_active
    from loandesk.plugins import runtime

    to = params.get("to")
    kind = to.get("kind") if isinstance(to, Mapping) else None
    if params.get("sms_template") is not None:
        found = _check_sms_template(params["sms_template"], to, form, session)
    else:
        found = _check_texts(params.get("texts"), form)
    if kind not in TO_KINDS:
        found["to"] = [message(N_("Choose whom the message is for."))]
    elif kind == "role" and not _role_exists(session, to.get("role")):  # type: ignore[union-attr]
        found["to"] = [message(N_("Choose a role."))]
    elif kind == "user" and not _user_active(session, to.get("user")):  # type: ignore[union-attr]
        found["to"] = [message(N_("This staff member does not exist or is deactivated."))]
    elif kind == "borrower":
        assert isinstance(to, Mapping)
        channel = runtime.notification_channels().get(str(to.get("channel")))
        if channel is None or not channel.reaches("borrower"):
            found["to.channel"] = [message(N_("Choose a channel that reaches borrowers."))]
        else:
            specs = _address_spec(form, to.get("field"))
            wanted = channel.address_kind
            if specs is None or (specs[1] or specs[0]).kind != wanted:
                text = (
                    N_("Choose a field that holds the borrower's e-mail address.")
                    if wanted == "email"
                    else N_("Choose a field that holds the borrower's mobile number.")
                )
                found["to.field"] = [message(text)]
    if not isinstance(params.get("urgent", False), bool):
        found["urgent"] = [message(N_("Say yes or no."))]
    return found


def _check_sms_template(chosen: Any, to: Any, form: Form, session: Session) -> dict[str, list[str]]:
    """An enabled SMS template of the tenant, for the borrower on the ``sms`` channel, with a
    param (a Jinja template over the record's fields) for each of its placeholders."""
    from loandesk.automations.templates import problems
    from loandesk.notifications import sms_templates

    if not isinstance(to, Mapping) or (to.get("kind"), to.get("channel")) != ("borrower", "sms"):
        return {"sms_template": [message(N_("An SMS template goes to the borrower by SMS."))]}
    key = str(chosen.get("key")) if isinstance(chosen, Mapping) else ""
    row = sms_templates.by_key(session, key)
    if row is None or not row.enabled:
        return {"sms_template.key": [message(N_("No enabled SMS template has this key."))]}
    given = chosen.get("params") or {}
    if not isinstance(given, Mapping):
        return {"sms_template.params": [message(N_("Give this parameter as text."))]}
    found: dict[str, list[str]] = {}
    names, wanted = list(form.expression_kinds), sms_templates.placeholders(row.text)
    for name in sorted(set(wanted) | set(given)):
        if name not in wanted:
            found[f"sms_template.params.{name}"] = [
                message(N_("The template has no such placeholder."))
            ]
        elif wrong := problems(given.get(name), names):
            found[f"sms_template.params.{name}"] = wrong
    return found


def _read(record: Any, spec: FieldSpec, keys: Any) -> Any:
    from loandesk.fields.validation import read_custom

    if spec.custom:
        return read_custom(record, spec, keys)
    if spec.encrypted:
        return record.get_personal(spec.source, keys=keys)
    return getattr(record, spec.source, None)


def borrower_address(ctx: Any, path: str, keys: Any) -> str | None:
    """The phone number or e-mail the rule's ``field`` path gives for ``ctx.record``."""
    from loandesk.automations.engine import load
    from loandesk.plugins import runtime

    specs = _address_spec(ctx.form, path)
    if specs is None:
        raise LookupError(f"field {path!r} can no longer be read")
    first, second = specs
    value = _read(ctx.record, first, keys)
    if second is not None and value is not None:
        assert first.link_type is not None
        linked = load(ctx.session, runtime.record_type(first.link_type), str(value))
        value = _read(linked, second, keys) if linked is not None else None
    return str(value) if value else None


def _texts(params: Mapping[str, Any], locale: str | None) -> Mapping[str, Any]:
    texts = params["texts"]
    lang = _language(locale)
    return texts.get(lang) or texts.get("en" if lang == "zh_CN" else "zh_CN")


def run_notify(ctx: Any, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """Queue the message(s), keyed by ``ctx.key`` (a retry finds them)."""
    from loandesk import pii
    from loandesk.automations.actions import extras
    from loandesk.automations.templates import render
    from loandesk.flows.assignees import holders
    from loandesk.notifications import service
    from loandesk.plugins import runtime
    from loandesk.tenancy import current

    tenant = current()
    values = {**ctx.values, **extras(ctx, tenant.timezone)}
    keys = pii.for_current_tenant()
    channels = runtime.notification_channels()
    record = (ctx.record_type.key, str(ctx.record.id))
    to = params["to"]

    def texts_for(locale: str | None) -> tuple[str, str]:
        text = _texts(params, locale)
        subject = render(text["subject"], values)[:200] if text.get("subject") else ""
        return subject, render(text["body"], values)

    if to["kind"] == "borrower":
        address = borrower_address(ctx, to["field"], keys)
        if not address:
            return {"skipped": "the borrower has no address"}
        template = None
        if chosen := params.get("sms_template"):
            from loandesk.notifications import sms_templates

            filled = {k: render(v, values) for k, v in (chosen.get("params") or {}).items()}
            prepared = sms_templates.prepare(ctx.session, chosen["key"], filled)
            subject, body, template = "", prepared.body, prepared.use
        else:
            subject, body = texts_for(tenant.locale)
        sent = service.notify(
            ctx.session, to["channel"], service.Recipient.borrower(address), body,
            subject=subject, key=ctx.key, channels=channels, keys=keys,
            urgent=bool(params.get("urgent")), record=record, locale=_language(tenant.locale),
            timezone=tenant.timezone, now=ctx.now, template=template,
        )  # fmt: skip
        return {"message": str(sent.id), "to": sent.address_masked}
    if to["kind"] == "owner":
        users = [getattr(ctx.record, ctx.record_type.owner_column)]
    elif to["kind"] == "role":
        users = holders(ctx.session, to["role"])
    else:
        users = [uuid.UUID(str(to["user"]))]
    from loandesk.auth.models import User

    queued = []
    for user_id in [u for u in users if u is not None]:
        user = ctx.session.get(User, (tenant.id, user_id))
        subject, body = texts_for(user.locale if user and user.locale else tenant.locale)
        queued += service.notify_staff(
            ctx.session, [user_id], subject, body,
            key=ctx.key, channels=channels, keys=keys, record=record, now=ctx.now,
        )  # fmt: skip
    return {"messages": len(queued)}


NOTIFY = ActionType("notify", "发送通知", "Send a notification", check_notify, run_notify)
