# ruff: noqa: F811  (fixtures imported from the contracts tests are used by name)
"""The e签宝 connector against a local server that speaks e签宝's open API v3: every call's
signature is checked there; a contract sent through it is uploaded, becomes a sign flow for
the borrower, and is signed when e签宝's signed callback arrives (a forged one is refused).
e签宝's error codes, its silence and a failed download are handled: nothing half-kept, and
trying again (sending again, e签宝 calling back again) succeeds."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import time
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
        # what the next calls to a path meet: "refuse" (e签宝's code 1435002), "slow" (an
        # answer after 2 s) or "http500"
        self.script: dict[str, list[str]] = {}

    def next_for(self, path: str) -> str | None:
        waiting = self.script.get(path) or []
        return waiting.pop(0) if waiting else None


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
            scripted = seen.next_for(self.path.split("?")[0])
            if scripted == "slow":
                time.sleep(2)
            if scripted == "http500":
                return self._answer(500, None, b"<html>502 Bad Gateway</html>")
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
            if scripted == "refuse":  # e签宝's answer to a parameter it rejects
                return self._answer(
                    200, {"code": 1435002, "message": "参数错误：签署人手机号格式错误"}
                )
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


def _enable(api: Any, esign: Esign, **more: Any) -> None:
    settings = {"app_id": "app-1", "app_secret": SECRET, "base_url": esign.base, **more}
    answer = api.put("/plugins/esign_cn", json={"enabled": True, "settings": settings})
    assert answer.status_code == 200, answer.get_json()


def test_an_esign_error_code_leaves_a_draft_and_sending_again_works(
    office: Office, esign: Esign, api_a: Any
) -> None:
    _enable(api_a, esign)
    contract = office.contract(office.pending_loan()["id"])
    esign.script["/v3/sign-flow/create-by-file"] = ["refuse"]
    refused = office.api.post(f"/contracts/{contract['id']}/send")
    assert refused.status_code == 502
    assert refused.get_json()["code"] == "esign_failed"
    assert "1435002" in refused.get_json()["message"]
    assert office.api.get(f"/contracts/{contract['id']}").get_json()["status"] == "draft"
    assert office.outbox() == []  # no link texted for a flow that does not exist
    sent = office.api.post(f"/contracts/{contract['id']}/send")
    assert sent.status_code == 200 and sent.get_json()["provider_reference"] == "flow-1"
    assert esign.refused == []  # every call signed as e签宝 checks it


def test_esign_not_answering_in_time_or_failing_leaves_a_draft(
    office: Office, esign: Esign, api_a: Any
) -> None:
    _enable(api_a, esign, timeout_seconds=1)
    contract = office.contract(office.pending_loan()["id"])
    for trouble in ("slow", "http500"):
        esign.script["/v3/files/file-upload-url"] = [trouble]
        failed = office.api.post(f"/contracts/{contract['id']}/send")
        assert failed.status_code == 502, failed.get_json()
        assert "did not answer" in failed.get_json()["message"]
        assert office.api.get(f"/contracts/{contract['id']}").get_json()["status"] == "draft"
    assert office.api.post(f"/contracts/{contract['id']}/send").status_code == 200


def test_a_signed_file_that_cannot_be_fetched_makes_esign_call_back_again(
    office: Office, esign: Esign, api_a: Any
) -> None:
    _enable(api_a, esign)
    contract, _link = office.sent_contract()
    done = {"action": "SIGN_FLOW_COMPLETE", "signFlowId": "flow-1", "signFlowStatus": "2"}
    esign.script["/download/f1"] = ["http500"]
    answer = _callback(office, done)
    assert answer.status_code == 503 and answer.get_json()["code"] == "retry_later"
    assert office.api.get(f"/contracts/{contract['id']}").get_json()["status"] == "sent"
    assert _callback(office, done).status_code == 200  # e签宝 calls back again
    assert office.api.get(f"/contracts/{contract['id']}").get_json()["status"] == "signed"
