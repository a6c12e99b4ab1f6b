"""The tenant's SMS templates (短信模板) and sending with one: a firm registers each text it
sends with its SMS provider (Alibaba Cloud and Tencent Cloud send only approved templates), and
keeps here the same text with ``{param}`` placeholders and the provider's code for it.
``send_sms`` checks the params against the placeholders, renders the text (the message log
shows it, a gateway that takes text sends it) and queues the message on the ``sms`` channel
with the template's code and params, which a cloud provider's plugin sends instead."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.db import utcnow
from loandesk.errors import Conflict, NotFound, ValidationFailed
from loandesk.i18n import N_
from loandesk.notifications.channels import SmsTemplateUse
from loandesk.notifications.models import Message, SmsTemplate

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,39})\}")
KEY = re.compile(r"^[a-z][a-z0-9_.-]{0,59}$")
FIELDS = ("key", "name", "text", "provider_code", "enabled")
MAX_PARAM = 500  # characters of one param's value


def placeholders(text: str) -> list[str]:
    """The names of ``text``'s ``{param}`` placeholders, each once, in order of appearance."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def render(text: str, params: Mapping[str, str]) -> str:
    """``text`` with each ``{param}`` replaced by its value."""
    return PLACEHOLDER.sub(lambda m: params[m.group(1)], text)


def _failed(errors: dict[str, list[str]]) -> ValidationFailed:
    from loandesk.fields.validation import message

    return ValidationFailed(
        N_("The SMS template is not valid."),
        errors={name: [message(text) for text in texts] for name, texts in errors.items()},
    )


def _check(values: Mapping[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if not KEY.match(values["key"]):
        errors["key"] = [N_("Use lowercase letters, digits, _ . or -, starting with a letter.")]
    if not 1 <= len(values["name"].strip()) <= 100:
        errors["name"] = [N_("Enter a name of at most 100 characters.")]
    text = values["text"]
    if not 1 <= len(text.strip()) <= 500:
        errors["text"] = [N_("Enter the text of at most 500 characters.")]
    elif re.search(r"\{(?![A-Za-z_][A-Za-z0-9_]{0,39}\})", text):
        errors["text"] = [N_("Write each placeholder as {name}: letters, digits and _.")]
    if not 1 <= len(values["provider_code"].strip()) <= 100:
        errors["provider_code"] = [N_("Enter the provider's template code.")]
    if errors:
        raise _failed(errors)


def page(session: Session, *, page: int = 1, per_page: int = 20) -> tuple[list[SmsTemplate], int]:
    """The tenant's templates by key, a page at a time, and how many there are."""
    total = session.scalar(select(func.count()).select_from(SmsTemplate)) or 0
    rows = session.scalars(
        select(SmsTemplate).order_by(SmsTemplate.key).offset((page - 1) * per_page).limit(per_page)
    )
    return list(rows), int(total)


def get(session: Session, template_id: uuid.UUID) -> SmsTemplate:
    found = session.scalar(select(SmsTemplate).where(SmsTemplate.id == template_id))
    if found is None:
        raise NotFound(N_("No such SMS template."))
    return found


def by_key(session: Session, key: str) -> SmsTemplate | None:
    return session.scalar(select(SmsTemplate).where(SmsTemplate.key == key))


def create(session: Session, values: Mapping[str, Any]) -> SmsTemplate:
    """Add a template (``key``, ``name``, ``text``, ``provider_code``, ``enabled``); audited.
    ``ValidationFailed`` naming the field, ``Conflict`` for a key already used."""
    values = {k: values.get(k, True if k == "enabled" else "") for k in FIELDS}
    _check(values)
    if by_key(session, values["key"]) is not None:
        raise Conflict(N_("An SMS template with this key exists already."))
    row = SmsTemplate(**values, created_at=utcnow(), updated_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, "sms_template.create", "sms_template", str(row.id),
                 {k: [None, v] for k, v in values.items()})  # fmt: skip
    return row


def update(session: Session, row: SmsTemplate, changes: Mapping[str, Any]) -> SmsTemplate:
    """Change a template's name, text, provider code or enabled (its key stays: code sends
    by it); audited with what changed."""
    values = {k: changes.get(k, getattr(row, k)) for k in FIELDS}
    values["key"] = row.key
    _check(values)
    diff = {k: [getattr(row, k), v] for k, v in values.items() if getattr(row, k) != v}
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.flush()
    if diff:
        audit.record(session, "sms_template.update", "sms_template", str(row.id), diff)
    return row


def delete(session: Session, row: SmsTemplate) -> None:
    """Remove a template (messages sent with it keep its key, code and text); audited."""
    audit.record(session, "sms_template.delete", "sms_template", str(row.id),
                 {k: [getattr(row, k), None] for k in FIELDS})  # fmt: skip
    session.delete(row)
    session.flush()


@dataclass(frozen=True)
class Prepared:
    """What ``send_sms`` queues: the rendered text and the template's use."""

    body: str
    use: SmsTemplateUse


def prepare(session: Session, key: str, params: Mapping[str, Any]) -> Prepared:
    """The enabled template ``key`` filled with ``params`` (every placeholder, no other name,
    each value text of at most 500 characters); ``ValidationFailed`` naming what is wrong."""
    row = by_key(session, key)
    if row is None or not row.enabled:
        raise _failed({"template": [N_("No enabled SMS template has this key.")]})
    names = placeholders(row.text)
    errors: dict[str, list[str]] = {}
    for name in names:
        value = params.get(name)
        if value is None or not isinstance(value, str | int) or isinstance(value, bool):
            errors[f"params.{name}"] = [N_("Give this parameter as text.")]
        elif len(str(value)) > MAX_PARAM:
            errors[f"params.{name}"] = [N_("At most 500 characters.")]
    for name in sorted(set(params) - set(names)):
        errors[f"params.{name}"] = [N_("The template has no such placeholder.")]
    if errors:
        raise _failed(errors)
    ordered = tuple((name, str(params[name])) for name in names)
    body = render(row.text, dict(ordered))
    return Prepared(body, SmsTemplateUse(row.key, row.provider_code, ordered, body))


def use_of(message: Message) -> SmsTemplateUse | None:
    """The template a queued message was sent with, as its channel gets it."""
    if message.template_key is None:
        return None
    params = tuple((str(k), str(v)) for k, v in (message.template_params or {}).items())
    return SmsTemplateUse(message.template_key, message.template_code or "", params, message.body)
