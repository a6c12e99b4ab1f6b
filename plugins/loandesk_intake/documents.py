"""Documents (申请材料) on an application: files of a kind (ID card, proof of income, ...)
kept as the platform's attachments (record type ``application``, field ``intake-document``,
a key no form field can have) and linked to the application with their kind. A product
names the kinds an application must carry before it is submitted."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    Conflict,
    NotFound,
    RecordAccess,
    ValidationFailed,
    audit_record,
    keep_attachment,
    message,
)
from loandesk_intake.models import Application, Document

FIELD = "intake-document"
# (key, 中文, English): the kinds a tenant picks from for each product
KINDS = (
    ("id_front", "身份证正面", "ID card (front)"),
    ("id_back", "身份证反面", "ID card (back)"),
    ("income_proof", "收入证明", "Proof of income"),
    ("bank_statement", "银行流水", "Bank statement"),
    ("employment_proof", "工作证明", "Proof of employment"),
    ("residence_proof", "居住证明", "Proof of residence"),
    ("credit_consent", "征信授权书", "Credit check consent"),
    ("other", "其他材料", "Other document"),
)
KIND_KEYS = tuple(k for k, _, _ in KINDS)
IMAGE_KINDS = ("id_front", "id_back")


def kind_label(kind: str, locale: str) -> str:
    for key, zh, en in KINDS:
        if key == kind:
            return zh if locale.startswith("zh") else en
    return kind


def documents_of(session: Session, application: Application) -> list[Document]:
    return list(
        session.scalars(
            select(Document)
            .where(Document.application_id == application.id)
            .order_by(Document.kind, Document.created_at)
        )
    )


def check_can_change(access: RecordAccess, application: Application) -> None:
    """Documents are added and removed while the application may be changed, by those who
    may edit its fields."""
    access.check_record(application)
    if not any(access.access(f.key) == "edit" for f in access.record_type.fields):
        raise NotFound(N_("No such application."))
    if application.status not in ("draft", "returned"):
        raise Conflict(N_("Only a draft application can be changed."))


def add_document(
    session: Session,
    access: RecordAccess,
    application: Application,
    *,
    kind: str,
    filename: str,
    data: bytes,
) -> Document:
    """Keep ``data`` as a document of ``kind`` on ``application`` (ID card photos must be
    images); 422 on ``kind`` or ``file`` when wrong, audited."""
    check_can_change(access, application)
    if kind not in KIND_KEYS:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"kind": [message(N_("Choose one of the options."))]},
        )
    if not filename:
        raise ValidationFailed(
            N_("Some fields need attention."),
            errors={"file": [message(N_("Choose a file to upload."))]},
        )
    kept = keep_attachment(
        session,
        filename=filename,
        data=data,
        uploaded_by=access.user_id,
        record_type="application",
        field_key=FIELD,
        images_only=kind in IMAGE_KINDS,
    )
    document = Document(
        application_id=application.id,
        kind=kind,
        attachment_id=kept.id,
        filename=kept.filename,
        uploaded_by_id=access.user_id,
    )
    session.add(document)
    session.flush()
    audit_record(
        session,
        "application.document.add",
        "application",
        application.id,
        {"kind": kind, "attachment": str(kept.id), "filename": kept.filename},
    )
    return document


def get_document(session: Session, application: Application, document_id: uuid.UUID) -> Document:
    found = session.scalar(
        select(Document).where(
            Document.application_id == application.id, Document.id == document_id
        )
    )
    if found is None:
        raise NotFound(N_("No such file."))
    return found


def remove_document(
    session: Session, access: RecordAccess, application: Application, document: Document
) -> None:
    """Take a document off a draft (the file stays in storage, as every attachment does)."""
    check_can_change(access, application)
    session.delete(document)
    session.flush()
    audit_record(
        session,
        "application.document.remove",
        "application",
        application.id,
        {"kind": document.kind, "attachment": str(document.attachment_id)},
    )


def missing_kinds(session: Session, application: Application, required: list[str]) -> list[str]:
    """The kinds ``required`` names that the application has no document of, in order."""
    have = set(
        session.scalars(select(Document.kind).where(Document.application_id == application.id))
    )
    return [k for k in KIND_KEYS if k in required and k not in have]
