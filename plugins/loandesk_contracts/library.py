"""The firm's contract templates (one per product, and a default) and its letterhead. A
template is checked when it is saved by rendering it on the sample loan, so a broken one is
refused with the error next to the field instead of failing a contract later."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_, ValidationFailed, message
from loandesk_contracts import document, rendering
from loandesk_contracts.models import ContractTemplate, Letterhead


@dataclass(frozen=True)
class TemplateText:
    body: str
    css: str
    source: str  # product / default / shipped
    row: ContractTemplate | None


def _key(product_id: Any) -> str:
    return str(uuid.UUID(str(product_id))) if product_id else ""


def templates(session: Session) -> list[ContractTemplate]:
    return list(session.scalars(select(ContractTemplate).order_by(ContractTemplate.product_key)))


def stored(session: Session, product_id: Any) -> ContractTemplate | None:
    key = _key(product_id)
    return session.scalar(select(ContractTemplate).where(ContractTemplate.product_key == key))


def template_for(session: Session, product_id: Any) -> TemplateText:
    """The product's template, else the firm's default, else the one shipped here."""
    row = stored(session, product_id) if product_id else None
    if row is not None:
        return TemplateText(row.body, row.css, "product", row)
    row = stored(session, None)
    if row is not None:
        return TemplateText(row.body, row.css, "default", row)
    return TemplateText(rendering.default_body(), rendering.default_css(), "shipped", None)


def letterhead(session: Session) -> Letterhead | None:
    return session.scalar(select(Letterhead))


def firm(session: Session) -> dict[str, Any]:
    """The letterhead as templates see it (the logo inlined as a data URI)."""
    row = letterhead(session)
    logo, logo_type = None, ""
    if row is not None and row.logo_id is not None:
        try:
            logo = sdk.attachment_bytes(row.logo_id)
            logo_type = "image/png" if logo[:4] == b"\x89PNG" else "image/jpeg"
        except sdk.NotFound:
            logo = None
    return document.firm_values(row, sdk.current().name, logo, logo_type)


def preview(session: Session, body: str, css: str, today: dt.date) -> str:
    """The template rendered on the sample loan (``ValidationFailed`` on ``body``/``css``)."""
    rendering.check_css(css)
    return rendering.render(body, document.sample_values(firm(session), today))


def save_template(
    session: Session,
    *,
    product_id: Any,
    name: str,
    body: str,
    css: str,
    user_id: Any,
    today: dt.date,
) -> ContractTemplate:
    """Create or replace the template of ``product_id`` (None: the firm's default)."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed(
            N_("The template cannot be used."),
            errors={"name": [message(N_("Enter a name of 1 to 100 characters."))]},
        )
    if product_id:
        try:
            product_id = uuid.UUID(str(product_id))
        except ValueError:
            raise sdk.NotFound(N_("No such product.")) from None
        sdk.product_terms(session, product_id)  # NotFound for a product the firm lacks
    preview(session, body, css, today)
    row = stored(session, product_id)
    before = {"name": row.name, "body": row.body, "css": row.css} if row else {}
    if row is None:
        row = ContractTemplate(product_key=_key(product_id), name=name, body=body, css=css)
        session.add(row)
    row.name, row.body, row.css, row.updated_by_id = name, body, css, user_id
    session.flush()
    after = {"name": name, "body": body, "css": css}
    sdk.audit_record(
        session,
        "contract_template.saved",
        "contract_template",
        row.id,
        {"product_id": row.product_key or None, **sdk.audit_changes(before, after)},
    )
    return row


def delete_template(session: Session, product_id: Any) -> None:
    row = stored(session, product_id)
    if row is None:
        raise sdk.NotFound(N_("No such template."))
    sdk.audit_record(
        session, "contract_template.deleted", "contract_template", row.id, {"name": row.name}
    )
    session.delete(row)
    session.flush()


def save_letterhead(
    session: Session, values: dict[str, Any], *, logo: bytes | None, logo_name: str, user_id: Any
) -> Letterhead:
    errors: dict[str, list[str]] = {}
    limits = {"firm_name": 100, "address": 200, "phone": 40}
    clean = {}
    for key, limit in limits.items():
        text = str(values.get(key) or "").strip()
        if len(text) > limit:
            errors[key] = [message(N_("Enter at most %(count)s characters."), count=limit)]
        clean[key] = text
    if errors:
        raise ValidationFailed(N_("The letterhead cannot be saved."), errors=errors)
    row = letterhead(session)
    before = {k: getattr(row, k) for k in limits} if row else {}
    if row is None:
        row = Letterhead(**clean)
        session.add(row)
    for key, value in clean.items():
        setattr(row, key, value)
    if logo:
        kept = sdk.keep_attachment(
            session,
            filename=logo_name or "logo.png",
            data=logo,
            uploaded_by=user_id,
            record_type="contract_letterhead",
            field_key="contracts-logo",
            images_only=True,
        )
        row.logo_id = kept.id
        clean["logo_id"] = str(kept.id)
    session.flush()
    sdk.audit_record(
        session,
        "contract_letterhead.saved",
        "contract_letterhead",
        row.id,
        sdk.audit_changes(before, clean),
    )
    return row
