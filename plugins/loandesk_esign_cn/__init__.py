"""e签宝 (esign.cn) e-signature connector: contracts are signed through e签宝's open API v3
(upload, a sign flow, the signer's link, the callback, the signed file) instead of the
built-in click-to-sign, once the tenant fills in its app id and secret."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from marshmallow import validate

from loandesk import sdk


class EsignSettings(ma.Schema):
    app_id = ma.fields.String(
        load_default="", metadata=sdk.setting_labels("应用 ID (App ID)", "App ID", "", "")
    )
    app_secret = ma.fields.String(
        load_default="",
        metadata={
            **sdk.setting_labels("应用密钥 (App Secret)", "App secret", "", ""),
            "secret": True,
        },
    )
    base_url = ma.fields.String(
        load_default="https://openapi.esign.cn",
        metadata=sdk.setting_labels(
            "接口地址",
            "API address",
            "沙箱：https://smlopenapi.esign.cn",
            "Sandbox: https://smlopenapi.esign.cn",
        ),
    )
    timeout_seconds = ma.fields.Integer(
        load_default=15,
        validate=validate.Range(min=1, max=60),
        metadata=sdk.setting_labels(
            "超时（秒）", "Timeout (seconds)", "等待 e签宝 应答的时间", "How long to wait for e签宝"
        ),
    )


PLUGIN = sdk.PluginInfo(
    name="esign_cn",
    title_zh="e签宝电子签章",
    title_en="e签宝 e-signature",
    version="1.0.0",
    description_zh="通过 e签宝开放平台 V3 接口签署借款合同（需启用借款合同插件）。",
    description_en="Contracts signed through e签宝's open API v3 (with the contracts plugin).",
    depends_on=("contracts",),
    settings_schema=EsignSettings,
)
KEY = "esign_cn"
STATES = {"2": "signed", "3": "refused", "5": "expired", "7": "refused"}


def _client() -> Any:
    from loandesk_esign_cn.client import Client

    config = sdk.plugin_settings(KEY)
    base = config.get("base_url") or "https://openapi.esign.cn"
    timeout = int(config.get("timeout_seconds") or 15)
    return Client(base, config["app_id"], config["app_secret"], timeout=timeout)


class SigningFailed(sdk.DomainError):
    """e签宝 refused the signing request or did not answer: nothing is kept, the contract
    stays a draft, and sending it again tries again."""

    status = 502
    code = "esign_failed"


class EsignProvider:
    key = KEY
    label_zh = "e签宝"
    label_en = "e签宝 (esign.cn)"

    def request_signature(
        self, session: Any, *, document: bytes, filename: str, signer: sdk.Signer,
        subject_id: str, expires_at: dt.datetime, callback_url: str,
    ) -> sdk.SignatureRequest:  # fmt: skip
        from loandesk_esign_cn.client import EsignError

        client = _client()
        try:
            file_id = client.upload_pdf(filename, document)
            flow = client.create_flow(
                file_id=file_id, filename=filename, title=filename.removesuffix(".pdf"),
                name=signer.name, mobile=signer.mobile, id_number=signer.id_number,
                notify_url=callback_url, expires_ms=int(expires_at.timestamp() * 1000),
            )  # fmt: skip
            url = client.sign_url(flow, signer.mobile)
        except EsignError as problem:
            sdk.connector_failed(KEY, problem)
            raise SigningFailed(
                sdk.N_("e签宝 refused: %(detail)s")
                if problem.answered
                else sdk.N_("e签宝 did not answer (%(detail)s). Send the contract again later."),
                params={"detail": str(problem)},
            ) from None
        sdk.connector_succeeded(KEY, "sign flow created")
        return sdk.SignatureRequest(reference=flow, signing_url=url)

    def handle_callback(
        self, session: Any, *, headers: Mapping[str, str], body: bytes
    ) -> sdk.SignatureOutcome:
        import hmac

        from loandesk_esign_cn.client import callback_signature

        lower = {k.lower(): v for k, v in headers.items()}
        stamp = lower.get("x-tsign-open-timestamp", "")
        expected = callback_signature(sdk.plugin_settings(KEY)["app_secret"], stamp, "", body)
        if not stamp or not hmac.compare_digest(expected, lower.get("x-tsign-open-signature", "")):
            raise sdk.CallbackRefused("the signature does not verify")
        try:
            found = json.loads(body)
            flow = str(found["signFlowId"])
        except (ValueError, KeyError, TypeError):
            raise sdk.CallbackRefused("not an e签宝 notification") from None
        if found.get("action") != "SIGN_FLOW_COMPLETE":
            return sdk.SignatureOutcome(flow, "pending", detail=str(found.get("action"))[:100])
        state = STATES.get(str(found.get("signFlowStatus")), "pending")
        detail = str(found.get("resultDescription", ""))[:200]
        sdk.connector_succeeded(KEY, "signed notification received")  # a refused one may be forged
        return sdk.SignatureOutcome(flow, state, detail=detail)  # type: ignore[arg-type]

    def fetch_signed(self, session: Any, reference: str) -> bytes:
        from loandesk_esign_cn.client import EsignError

        try:
            found = bytes(_client().signed_pdf(reference))
        except EsignError as problem:
            sdk.connector_failed(KEY, problem)
            raise sdk.ProviderUnavailable(f"the signed file: {problem}") from None
        sdk.connector_succeeded(KEY, "signed file downloaded")
        return found


def _test(session: Any) -> str:
    """The connector's test: an upload slot asked for (``file-upload-url``, signed like every
    call) for a file that is never uploaded; nothing is signed or sent to anyone."""
    config = sdk.plugin_settings(KEY)
    if not config.get("app_id") or not config.get("app_secret"):
        raise sdk.ConnectorTestFailed("the e签宝 app id and secret are not set")
    client = _client()
    empty = b"%PDF-1.4\n%%EOF\n"
    from loandesk_esign_cn.client import content_md5

    client.call("POST", "/v3/files/file-upload-url", {
        "contentMd5": content_md5(empty), "contentType": "application/pdf",
        "fileName": "loandesk-connection-test.pdf", "fileSize": len(empty),
    })  # fmt: skip
    return "e签宝 accepted the signed request (an upload slot, nothing uploaded)"


@sdk.hookimpl
def loandesk_connectors() -> list[sdk.Connector]:
    return [sdk.Connector(KEY, "e签宝电子签章", "e签宝 e-signature", KEY, _test)]


@sdk.hookimpl
def loandesk_signature_providers() -> list[Any]:
    config = sdk.plugin_settings(KEY)
    if not config.get("app_id") or not config.get("app_secret"):
        return []  # not set up yet: the built-in click-to-sign stays in use
    return [EsignProvider()]
