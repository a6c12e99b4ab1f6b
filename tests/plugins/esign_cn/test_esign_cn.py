# ruff: noqa: F811  (fixtures imported from the contracts tests are used by name)
"""The e签宝 connector against a local server that speaks e签宝's open API v3: every call's
signature is checked there; a contract sent through it is uploaded, becomes a sign flow for
the borrower, and is signed when e签宝's signed callback arrives (a forged one is refused)."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from loandesk_esign_cn.client import callback_signature, content_md5, signature

from tests.plugins.contracts.conftest import BORROWER, MOBILE, Office, office  # noqa: F401
from tests.plugins.customers.conftest import audit_events, firm  # noqa: F401
from tests.plugins.repayment.conftest import desk  # noqa: F401

SECRET = "s3cret-of-the-app"


class Esign:
    """What the fake e签宝 saw and keeps."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.files: dict[str, bytes] = {}
        self.refused: list[str] = []
        self.base = ""


@pytest.fixture
def esign() -> Iterator[Esign]:
    seen = Esign()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, status: int, body: Any, raw: bytes | None = None) -> None:
            data = raw if raw is not None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _api(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path.startswith("/upload/"):
                if self.headers["Content-MD5"] != content_md5(body):
                    return self._answer(400, {"errCode": 1})
                seen.files[self.path.rsplit("/", 1)[1]] = body
                return self._answer(200, {"errCode": 0})
            if self.path.startswith("/download/"):
                original = seen.files[self.path.rsplit("/", 1)[1]]
                return self._answer(200, None, original + b"\n% signed at e-sign (test)\n")
            expected = signature(SECRET, method, self.path, body)
            if (
                self.headers.get("X-Tsign-Open-Ca-Signature") != expected
                or self.headers.get("X-Tsign-Open-App-Id") != "app-1"
                or self.headers.get("Content-MD5", "") != content_md5(body)
            ):
                seen.refused.append(self.path)
                return self._answer(401, {"code": 401, "message": "signature"})
            payload = json.loads(body) if body else None
            seen.calls.append((method, self.path, payload))
            data: dict[str, Any]
            if self.path == "/v3/files/file-upload-url":
                data = {"fileId": "f1", "fileUploadUrl": f"{seen.base}/upload/f1"}
            elif self.path == "/v3/sign-flow/create-by-file":
                data = {"signFlowId": "flow-1"}
            elif self.path == "/v3/sign-flow/flow-1/sign-url":
                data = {
                    "url": "https://esign.example/sign/flow-1",
                    "shortUrl": "https://t.esign.example/f1",
                }
            elif self.path == "/v3/sign-flow/flow-1/file-download-url":
                data = {"files": [{"fileId": "f1", "downloadUrl": f"{seen.base}/download/f1"}]}
            else:
                return self._answer(404, {"code": 404, "message": "no such path"})
            return self._answer(200, {"code": 0, "message": "成功", "data": data})

        def do_POST(self) -> None:
            self._api("POST")

        def do_GET(self) -> None:
            self._api("GET")

        def do_PUT(self) -> None:
            self._api("PUT")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    seen.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        server.shutdown()


def _callback(office: Office, body: dict[str, Any], secret: str = SECRET) -> Any:
    raw = json.dumps(body).encode()
    stamp = "1767225600000"
    return office.app.test_client().post(
        f"/t/{office.slug}/contracts/esign/esign_cn/callback",
        data=raw,
        headers={
            "Content-Type": "application/json",
            "X-Tsign-Open-TIMESTAMP": stamp,
            "X-Tsign-Open-SIGNATURE": callback_signature(secret, stamp, "", raw),
        },
    )


def test_a_contract_is_signed_through_esign(office: Office, esign: Esign, api_a: Any) -> None:
    settings = {"app_id": "app-1", "app_secret": SECRET, "base_url": esign.base}
    answer = api_a.put("/plugins/esign_cn", json={"enabled": True, "settings": settings})
    assert answer.status_code == 200, answer.get_json()

    contract, link = office.sent_contract()
    assert contract["provider"] == "esign_cn" and contract["provider_reference"] == "flow-1"
    assert esign.refused == []
    paths = [path for _, path, _ in esign.calls]
    assert paths == [
        "/v3/files/file-upload-url",
        "/v3/sign-flow/create-by-file",
        "/v3/sign-flow/flow-1/sign-url",
    ]
    flow = esign.calls[1][2]
    signer = flow["signers"][0]["psnSignerInfo"]
    assert signer["psnAccount"] == MOBILE and signer["psnInfo"]["psnName"] == BORROWER
    assert flow["signFlowConfig"]["notifyUrl"].endswith(
        f"/t/{office.slug}/contracts/esign/esign_cn/callback"
    )
    pdf = office.api.get(f"/contracts/{contract['id']}/pdf").data
    assert esign.files["f1"] == pdf
    page = office.app.test_client().get(link).get_data(as_text=True)
    assert "https://t.esign.example/f1" in page and 'name="code"' not in page

    done = {"action": "SIGN_FLOW_COMPLETE", "signFlowId": "flow-1", "signFlowStatus": "2"}
    assert _callback(office, done, secret="forged").status_code == 400
    assert office.api.get(f"/contracts/{contract['id']}").get_json()["status"] == "sent"
    [refused] = audit_events(office.app, office.desk.firm, "callback.refused")  # audited
    assert (refused.record_type, refused.record_id) == ("esign_callback", "esign_cn")
    assert refused.diff["reason"] == "the signature does not verify"
    assert SECRET not in str(refused.diff) and "flow-1" not in str(refused.diff)
    step = {"action": "SIGN_MISSON_COMPLETE", "signFlowId": "flow-1"}
    assert _callback(office, step).status_code == 200
    assert office.api.get(f"/contracts/{contract['id']}").get_json()["status"] == "sent"

    assert _callback(office, done).status_code == 200
    signed = office.api.get(f"/contracts/{contract['id']}").get_json()
    assert signed["status"] == "signed"
    expected = hashlib.sha256(pdf + b"\n% signed at e-sign (test)\n").hexdigest()
    assert signed["signed_pdf_sha256"] == expected
    assert _callback(office, done).status_code == 200  # e签宝 repeats itself: nothing changes
    assert office.api.get(f"/contracts/{contract['id']}").get_json() == signed
