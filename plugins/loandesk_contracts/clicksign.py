"""The built-in click-to-sign (点击签署), for tenants without an e-signature provider: the
borrower opens their link, reads the contract, ticks agreement and confirms with a one-time
code texted to the loan's customer mobile. The signed PDF is the original with a signature
page (name, time, IP address, browser, the original's SHA-256) appended; every step is
audited with the borrower's address and browser."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import secrets
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_, Conflict, ValidationFailed, message
from loandesk_contracts import pdf, signing
from loandesk_contracts.models import Contract, SigningCode

KEY = "contracts.click"
CODE_LIFETIME = dt.timedelta(minutes=10)
CODE_GAP = dt.timedelta(seconds=60)  # between two codes for one contract
CODES_PER_DAY = 5
MAX_TRIES = 5


class ClickToSign:
    """``loandesk.esign.SignatureProvider`` without an outside service: the borrower's
    page is the signing page, and signing happens in ``confirm``, not in a callback."""

    key = KEY
    label_zh = "点击签署（内置）"
    label_en = "Click to sign (built in)"

    def request_signature(self, session: Session, **request: Any) -> sdk.SignatureRequest:
        return sdk.SignatureRequest(reference=f"click-{request['subject_id']}", signing_url="")

    def handle_callback(
        self, session: Session, *, headers: Mapping[str, str], body: bytes
    ) -> sdk.SignatureOutcome:
        raise sdk.CallbackRefused("click-to-sign takes no callbacks")

    def fetch_signed(self, session: Session, reference: str) -> bytes:
        raise sdk.NotFound(N_("No such file."))


def _digest(contract: Contract, code: str) -> str:
    return hmac.new(contract.link_nonce.encode(), code.encode(), hashlib.sha256).hexdigest()


def _check_signable(contract: Contract) -> None:
    if contract.status != "sent" or contract.provider != KEY:
        raise Conflict(N_("This contract is not waiting for your signature."))


def send_code(session: Session, contract: Contract, *, now: dt.datetime) -> SigningCode:
    """Text a new one-time code to the loan's customer mobile (at most one a minute and
    five a day per contract)."""
    _check_signable(contract)
    recent = session.scalars(
        select(SigningCode)
        .where(
            SigningCode.contract_id == contract.id,
            SigningCode.created_at > now - dt.timedelta(days=1),
        )
        .order_by(SigningCode.created_at.desc())
    ).all()
    if recent and recent[0].created_at > now - CODE_GAP:
        raise ValidationFailed(
            N_("No code was sent."),
            errors={
                "code": [message(N_("A code was just sent; wait a minute before asking again."))]
            },
        )
    if len(recent) >= CODES_PER_DAY:
        raise ValidationFailed(
            N_("No code was sent."),
            errors={"code": [message(N_("Too many codes today; try again tomorrow."))]},
        )
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = SigningCode(
        id=sdk.uuid7(),
        contract_id=contract.id,
        code_hash=_digest(contract, code),
        expires_at=now + CODE_LIFETIME,
        attempts=0,
        created_at=now,
    )
    session.add(row)
    session.flush()
    signing._sms(
        session,
        contract,
        f"【{sdk.current().name}】您正在签署借款合同{contract.number}，验证码{code}，"
        f"10分钟内有效。请勿告诉他人。",
        key=f"contracts.code.{row.id}",
        urgent=True,
    )
    sdk.audit_record(
        session, "contract.code_sent", "contract", contract.id, {"code_id": str(row.id)}
    )
    return row


def confirm(
    session: Session,
    contract: Contract,
    *,
    code: str,
    agreed: bool,
    ip: str | None,
    user_agent: str | None,
    now: dt.datetime,
) -> Contract:
    """Sign with the code: ``ValidationFailed`` on ``agree`` or ``code`` (a wrong code
    counts as a try, written even so: commit the session when catching it)."""
    _check_signable(contract)
    if not agreed:
        raise ValidationFailed(
            N_("The contract was not signed."),
            errors={"agree": [message(N_("Tick the box to say you have read and agree."))]},
        )
    row = session.scalar(
        select(SigningCode)
        .where(SigningCode.contract_id == contract.id, SigningCode.used_at.is_(None))
        .order_by(SigningCode.created_at.desc())
        .limit(1)
    )
    wrong = N_("The code is wrong or has expired; ask for a new one.")
    if row is None or row.expires_at <= now or row.attempts >= MAX_TRIES:
        raise ValidationFailed(
            N_("The contract was not signed."), errors={"code": [message(wrong)]}
        )
    if not hmac.compare_digest(row.code_hash, _digest(contract, (code or "").strip())):
        row.attempts += 1
        session.flush()
        sdk.audit_record(
            session, "contract.code_refused", "contract", contract.id,
            {"code_id": str(row.id), "attempts": row.attempts, "ip": ip},
        )  # fmt: skip
        raise ValidationFailed(
            N_("The contract was not signed."), errors={"code": [message(wrong)]}
        )
    row.used_at = now
    signed = signature_page(contract, ip=ip, user_agent=user_agent, at=now)
    return signing.complete(
        session,
        contract,
        signed,
        detail={
            "method": "click_to_sign",
            "signer": contract.borrower_name,
            "ip": ip,
            "user_agent": (user_agent or "")[:300],
            "code_id": str(row.id),
            "signed_at": now.isoformat(),
        },
    )


def signature_page(
    contract: Contract, *, ip: str | None, user_agent: str | None, at: dt.datetime
) -> bytes:
    """The original PDF with a signature page (签署页) appended."""
    from pypdf import PdfReader, PdfWriter

    local = at.astimezone(ZoneInfo(sdk.current().timezone))
    rows = [
        ("合同编号", contract.number),
        ("签署人", contract.borrower_name),
        ("签署方式", "点击签署，短信验证码确认（发送至借款人预留手机号）"),
        ("签署时间", f"{local:%Y-%m-%d %H:%M:%S} ({sdk.current().timezone})"),
        ("IP 地址", ip or "-"),
        ("浏览器", (user_agent or "-")[:300]),
        ("原合同 SHA-256", contract.pdf_sha256),
    ]
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    html = (
        "<html><body><h1>电子签署页</h1><p>借款人已阅读并同意本借款合同全部条款，"
        f"并以短信验证码确认签署。</p><table>{cells}</table></body></html>"
    )
    css = (
        f'body {{ font-family: "{pdf.FONT_FAMILY}"; font-size: 10.5pt; }} '
        "h1 { text-align: center; font-size: 16pt; } "
        "table { border-collapse: collapse; width: 100%; } "
        "th, td { border: 0.5pt solid #888; padding: 2mm; text-align: left; "
        "word-break: break-all; } "
        "th { width: 32mm; font-weight: normal; background: #f2f2f2; }"
    )
    page = pdf.to_pdf(html, css)
    writer = PdfWriter()
    for source in (sdk.attachment_bytes(contract.pdf_id), page):
        writer.append(PdfReader(io.BytesIO(source)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def codes_sent(session: Session, contract: Contract) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(SigningCode)
            .where(SigningCode.contract_id == contract.id)
        )
        or 0
    )
