"""Product reminders (还款提醒): per product, an SMS to the borrower N days before each
installment falls due and a notice on the due day. Each is an automation rule on the
installment record type — a relative trigger on ``due_date`` (``-N`` or ``0`` days, at 09:00),
the condition naming the product's code and an unpaid status, a ``notify`` action by SMS to
``customer_id.mobile`` — saved through the automations service (``sdk.save_automation_rule``),
so it shows in the designer, is audited there, and fires through the standard relative job:
once per installment and due date, never for a superseded installment (``in_force``).
``Reminder`` rows say which rule is which product's. No Flask."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_, ValidationFailed, message
from loandesk_repayment.models import REMINDER_KINDS, Reminder

AT = "09:00"
DEFAULT_DAYS = 3
MAX_DAYS = 30
MAX_TEXT = 300
NO_SMS = N_("Reminders go by SMS: enable an SMS connector under Plugins first.")
LANGUAGES = ("zh", "en")
_LOCALE = {"zh": "zh_CN", "en": "en"}
DEFAULT_TEXTS = {
    "before": {
        "zh": "尊敬的客户，您的借款 {{ loan_number }} 第 {{ number }} 期应还 {{ amount_due }} 元，"
        "将于 {{ due_date }} 到期，请按时还款。",
        "en": "Your loan {{ loan_number }}: installment {{ number }} of {{ amount_due }} is "
        "due on {{ due_date }}. Please pay on time.",
    },
    "due_day": {
        "zh": "尊敬的客户，您的借款 {{ loan_number }} 第 {{ number }} 期今日到期，"
        "尚需还款 {{ outstanding }} 元，请于今日还款。",
        "en": "Your loan {{ loan_number }}: installment {{ number }} is due today; "
        "{{ outstanding }} is still to pay.",
    },
}


@dataclass(frozen=True)
class Setting:
    """One reminder of a product as the page edits it: on or off, the days before the due
    date (the due-day notice: 0), and the texts by language."""

    on: bool
    days: int
    texts: Mapping[str, str]


@dataclass(frozen=True)
class ProductReminders:
    product: sdk.ProductTerms
    settings: Mapping[str, Setting]  # by kind
    saved: bool  # the product has reminders (else ``settings`` are the defaults)


def defaults() -> dict[str, Setting]:
    return {
        "before": Setting(True, DEFAULT_DAYS, dict(DEFAULT_TEXTS["before"])),
        "due_day": Setting(True, 0, dict(DEFAULT_TEXTS["due_day"])),
    }


def _links(session: Session, product_id: uuid.UUID) -> dict[str, Reminder]:
    rows = session.scalars(select(Reminder).where(Reminder.product_id == product_id))
    return {row.kind: row for row in rows}


def _setting(rule: Any) -> Setting:
    step: dict[str, Any] = next((a for a in rule.actions if a.get("type") == "notify"), {})
    texts = step.get("texts") or {}
    return Setting(
        on=bool(rule.enabled),
        days=-int(rule.trigger.get("days") or 0),
        texts={lang: (texts.get(_LOCALE[lang]) or {}).get("body", "") for lang in LANGUAGES},
    )


def of_product(session: Session, product: sdk.ProductTerms) -> ProductReminders:
    """The product's reminders as saved, or the defaults when it has none."""
    found: dict[str, Setting] = {}
    for kind, link in _links(session, product.product_id).items():  # type: ignore[arg-type]
        rule = sdk.automation_rule(session, link.rule_id)
        if rule is not None:
            found[kind] = _setting(rule)
    if not found:
        return ProductReminders(product, defaults(), saved=False)
    off = {kind: Setting(False, s.days, s.texts) for kind, s in defaults().items()}
    return ProductReminders(product, {**off, **found}, saved=True)


def catalogue(session: Session) -> list[ProductReminders]:
    """Every product of the catalogue with its reminders, by code."""
    return [of_product(session, p) for p in sdk.product_catalogue(session, include_inactive=True)]


def product(session: Session, product_id: Any) -> sdk.ProductTerms:
    try:
        return sdk.product_terms(session, uuid.UUID(str(product_id)))
    except ValueError:
        raise sdk.NotFound(N_("No such product.")) from None


def parse(form: Mapping[str, Any]) -> dict[str, Setting]:
    """The page's fields (``before_on``, ``before_days``, ``before_zh``, ``before_en``,
    ``due_day_on``, ``due_day_zh``, ``due_day_en``) as settings; ``ValidationFailed`` keyed
    by those names."""
    errors: dict[str, list[str]] = {}
    settings = {}
    for kind in REMINDER_KINDS:
        on = str(form.get(f"{kind}_on") or "") in ("on", "true", "1", "yes")
        days = 0
        if kind == "before":
            raw = str(form.get("before_days") or "").strip()
            if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
                errors["before_days"] = [
                    message(N_("Enter a number from %(low)s to %(high)s."), low=1, high=MAX_DAYS)
                ]
            else:
                days = int(raw)
        texts = {lang: str(form.get(f"{kind}_{lang}") or "").strip() for lang in LANGUAGES}
        for lang, text in texts.items():
            if len(text) > MAX_TEXT:
                errors[f"{kind}_{lang}"] = [
                    message(N_("Enter at most %(count)s characters."), count=MAX_TEXT)
                ]
        if on and not any(texts.values()):
            errors[f"{kind}_zh"] = [message(N_("Write the message in Chinese, English or both."))]
        settings[kind] = Setting(on, days, texts)
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    return settings


def _rule_data(product: sdk.ProductTerms, kind: str, setting: Setting) -> dict[str, Any]:
    days = setting.days if kind == "before" else 0
    when = f"到期前{days}天" if kind == "before" else "到期日"
    name = f"还款提醒 {product.code} {when}"
    texts = {_LOCALE[lang]: {"body": text} for lang, text in setting.texts.items() if text}
    return {
        "name": name,
        "record_type": "installment",
        "trigger": {"kind": "relative", "field": "due_date", "days": -days, "at": AT},
        "condition": f'product_code == {json.dumps(product.code)} and status != "paid"',
        "actions": [
            {
                "type": "notify",
                "to": {"kind": "borrower", "channel": "sms", "field": "customer_id.mobile"},
                "texts": texts,
            }
        ],
        "enabled": setting.on,
    }


def _field_of(kind: str, where: str) -> str:
    """The page field a rule problem belongs next to."""
    if where == "trigger":
        return "before_days" if kind == "before" else f"{kind}_on"
    for lang in LANGUAGES:
        if where.startswith(f"actions.0.texts.{_LOCALE[lang]}"):
            return f"{kind}_{lang}"
    if where.startswith("actions.0.texts"):
        return f"{kind}_zh"
    return f"{kind}_on"


def save(
    session: Session, product_id: Any, settings: Mapping[str, Setting], *, user_id: Any
) -> ProductReminders:
    """Save the product's reminders as automation rules: a reminder turned on is created or
    replaced (a new version of its rule), one turned off is disabled; problems the rules
    have come back keyed by the page's fields."""
    found = product(session, product_id)
    links = _links(session, found.product_id)  # type: ignore[arg-type]
    errors: dict[str, list[str]] = {}
    for kind in REMINDER_KINDS:
        setting = settings[kind]
        link = links.get(kind)
        rule = sdk.automation_rule(session, link.rule_id) if link is not None else None
        if rule is None and not setting.on:
            continue  # nothing to keep: a reminder off is no rule
        if rule is not None and not setting.on and not any(setting.texts.values()):
            setting = Setting(False, setting.days, _setting(rule).texts)  # off, texts kept
        data = _rule_data(found, kind, setting)
        try:
            with session.begin_nested():
                row = sdk.save_automation_rule(
                    session, data, rule_id=rule.id if rule else None, user_id=user_id
                )
        except (ValidationFailed, sdk.Conflict) as problem:
            if any(where.startswith("actions.0.to") for where in problem.errors):
                raise ValidationFailed(NO_SMS) from None  # the same for every reminder
            named = problem.errors or {"name": [message(problem.message, **problem.params)]}
            for where, texts in named.items():
                errors.setdefault(_field_of(kind, where), []).extend(texts)
            continue
        if link is None:
            session.add(Reminder(product_id=found.product_id, kind=kind, rule_id=row.id))
        elif rule is None:
            link.rule_id = row.id  # its rule was deleted in the designer: a new one
    if errors:
        raise ValidationFailed(
            N_("The reminders have problems; see the marked fields."), errors=errors
        )
    session.flush()
    return of_product(session, found)


def use_defaults(session: Session, product_id: Any, *, user_id: Any) -> ProductReminders:
    return save(session, product_id, defaults(), user_id=user_id)


def remove(session: Session, product_id: Any) -> None:
    """Remove the product's reminders: each rule is deleted (its link goes with it), or
    disabled when it has sent messages already — its run log stays, and the link with it, so
    that turning the reminder on again brings the same rule back."""
    found = product(session, product_id)
    for link in _links(session, found.product_id).values():  # type: ignore[arg-type]
        if sdk.automation_rule(session, link.rule_id) is None:
            session.delete(link)
        elif sdk.remove_automation_rule(session, link.rule_id):
            session.expunge(link)  # the database deleted it with its rule (on delete cascade)
    session.flush()
