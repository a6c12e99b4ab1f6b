"""A client for e签宝's open API v3 (esign.cn, 开放平台 V3): JSON over HTTPS, each request
signed with the app's secret.

Request signing (e签宝 "签名鉴权"): the string to sign is

    METHOD \\n Accept \\n Content-MD5 \\n Content-Type \\n Date \\n path-and-query

with ``Accept: */*``, ``Content-MD5`` the Base64 of the body's MD5 (empty without a body),
``Content-Type: application/json; charset=UTF-8`` and an empty ``Date``; the signature is
Base64(HMAC-SHA256(app secret, that string)), sent in ``X-Tsign-Open-Ca-Signature`` beside
``X-Tsign-Open-App-Id``, ``X-Tsign-Open-Auth-Mode: Signature`` and
``X-Tsign-Open-Ca-Timestamp`` (milliseconds). Answers are ``{"code": 0, "message", "data"}``.

Callbacks (异步通知) carry ``X-Tsign-Open-SIGNATURE``: the hex HMAC-SHA256 of timestamp +
query + body with the same secret, and ``X-Tsign-Open-TIMESTAMP``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import requests

ACCEPT = "*/*"
JSON_TYPE = "application/json; charset=UTF-8"


class EsignError(Exception):
    """e签宝 refused (``code``: its error code, e.g. 1435002 for a parameter it rejects) or
    did not answer (``code`` None: a timeout, no connection, an HTTP error or an answer that
    is not its JSON); the message holds no personal data."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code

    @property
    def answered(self) -> bool:
        """Whether e签宝 answered with a refusal (not a silence worth trying again later)."""
        return self.code is not None


def content_md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode() if body else ""  # noqa: S324


def signature(secret: str, method: str, path: str, body: bytes) -> str:
    text = "\n".join((method, ACCEPT, content_md5(body), JSON_TYPE, "", path))
    return base64.b64encode(
        hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()
    ).decode()


def callback_signature(secret: str, timestamp: str, query: str, body: bytes) -> str:
    message = timestamp.encode() + query.encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class Client:
    def __init__(self, base_url: str, app_id: str, secret: str, *, timeout: float = 15) -> None:
        self.base_url, self.app_id, self.secret = base_url.rstrip("/"), app_id, secret
        self.timeout = timeout
        self.http = requests.Session()

    def call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        headers = {
            "Accept": ACCEPT,
            "Content-Type": JSON_TYPE,
            "Content-MD5": content_md5(body),
            "X-Tsign-Open-App-Id": self.app_id,
            "X-Tsign-Open-Auth-Mode": "Signature",
            "X-Tsign-Open-Ca-Timestamp": str(int(time.time() * 1000)),
            "X-Tsign-Open-Ca-Signature": signature(self.secret, method, path, body),
        }
        try:
            answer = self.http.request(
                method,
                self.base_url + path,
                data=body or None,
                headers=headers,
                timeout=self.timeout,
            )
            found = answer.json()
        except (requests.RequestException, ValueError) as problem:
            raise EsignError(f"{method} {path}: {type(problem).__name__}") from None
        code = found.get("code") if isinstance(found, dict) else None
        if answer.status_code >= 500 or not isinstance(code, int):
            raise EsignError(f"{method} {path}: HTTP {answer.status_code}")
        if answer.status_code != 200 or code != 0:
            text = f"{method} {path}: {code} {found.get('message', '')}"[:200]
            raise EsignError(text, code)
        return found.get("data") or {}

    def upload_pdf(self, filename: str, data: bytes) -> str:
        """The file's id at e签宝: an upload URL is asked for, then the bytes PUT there."""
        slot = self.call(
            "POST",
            "/v3/files/file-upload-url",
            {"contentMd5": content_md5(data), "contentType": "application/pdf",
             "fileName": filename, "fileSize": len(data), "convertToPDF": False},
        )  # fmt: skip
        try:
            put = self.http.put(
                slot["fileUploadUrl"],
                data=data,
                headers={"Content-MD5": content_md5(data), "Content-Type": "application/pdf"},
                timeout=self.timeout,
            )
        except requests.RequestException as problem:
            raise EsignError(f"upload: {type(problem).__name__}") from None
        if put.status_code != 200:
            raise EsignError(f"upload: HTTP {put.status_code}")
        return str(slot["fileId"])

    def create_flow(
        self, *, file_id: str, filename: str, title: str, name: str, mobile: str,
        id_number: str | None, notify_url: str, expires_ms: int,
    ) -> str:  # fmt: skip
        person: dict[str, Any] = {"psnName": name}
        if id_number:
            person["psnIDCardNum"] = id_number
        data = self.call(
            "POST",
            "/v3/sign-flow/create-by-file",
            {
                "docs": [{"fileId": file_id, "fileName": filename}],
                "signFlowConfig": {
                    "signFlowTitle": title,
                    "autoFinish": True,
                    "notifyUrl": notify_url,
                    "signFlowExpireTime": expires_ms,
                },
                "signers": [
                    {
                        "signerType": 0,
                        "psnSignerInfo": {"psnAccount": mobile, "psnInfo": person},
                        "signFields": [
                            {"fileId": file_id, "normalSignFieldConfig": {"freeMode": True}}
                        ],
                    }
                ],
            },
        )
        return str(data["signFlowId"])

    def sign_url(self, flow_id: str, mobile: str) -> str:
        data = self.call(
            "POST", f"/v3/sign-flow/{flow_id}/sign-url", {"operator": {"psnAccount": mobile}}
        )
        return str(data.get("shortUrl") or data["url"])

    def signed_pdf(self, flow_id: str) -> bytes:
        data = self.call("GET", f"/v3/sign-flow/{flow_id}/file-download-url")
        url = data["files"][0]["downloadUrl"]
        try:
            got = self.http.get(url, timeout=self.timeout)
        except requests.RequestException as problem:
            raise EsignError(f"download: {type(problem).__name__}") from None
        if got.status_code != 200 or not got.content.startswith(b"%PDF"):
            raise EsignError(f"download: HTTP {got.status_code}")
        return got.content
