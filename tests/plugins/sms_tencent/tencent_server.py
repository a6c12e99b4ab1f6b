"""A small Tencent Cloud API 3.0 server for tests, speaking what the official SDK calls for
``SendSms`` (version 2021-01-11): ``POST /`` with the ``X-TC-Action``, ``X-TC-Version``,
``X-TC-Timestamp`` and ``X-TC-Region`` headers and an ``Authorization`` header signed with
TC3-HMAC-SHA256. The signature is recomputed here on its own from the request as received,
as https://cloud.tencent.com/document/api/382/52072 documents it (canonical request, string to
sign, keys derived from ``"TC3" + SecretKey``); a wrong one is refused with the documented
``AuthFailure.SignatureFailure`` error. ``answers`` makes the next requests meet a failure:
a code (``LimitExceeded...`` in the number's ``SendStatusSet``, ``RequestLimitExceeded`` as
the request's ``Error``), or ``silent`` (no answer until ``release`` is set)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REQUEST_ERRORS = {"RequestLimitExceeded", "InvalidParameterValue.IncorrectPhoneNumber"}


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


@dataclass
class FakeTencent:
    secret_id: str
    secret_key: str
    region: str = "ap-guangzhou"
    endpoint: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)  # signed SendSms bodies
    answers: list[str] = field(default_factory=list)
    # the application's approved templates: TemplateId -> how many variables ({1}, {2}...)
    templates: dict[str, int] = field(default_factory=lambda: {"449739": 1})
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # DescribeSmsTemplateList: id -> StatusCode (0 approved, 1 under review, -1 rejected)
    template_status: dict[int, int] = field(default_factory=dict)

    def refusal(self, handler: BaseHTTPRequestHandler, body: bytes) -> str | None:
        """Why the request is not signed as documented; None when it is."""
        headers = handler.headers
        if handler.command != "POST" or handler.path != "/":
            return "InvalidParameter"
        if headers.get("X-TC-Action") not in ("SendSms", "DescribeSmsTemplateList") or (
            headers.get("X-TC-Version") != "2021-01-11"
        ):
            return "InvalidAction"
        if headers.get("X-TC-Region") != self.region:
            return "InvalidParameterValue.RegionError"
        timestamp = headers.get("X-TC-Timestamp", "")
        if not timestamp.isdigit():
            return "AuthFailure.SignatureFailure"
        algorithm, _, rest = headers.get("Authorization", "").partition(" ")
        parts = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
        secret_id, *scope = parts.get("Credential", "").split("/")
        day = datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d")
        if algorithm != "TC3-HMAC-SHA256" or scope != [day, "sms", "tc3_request"]:
            return "AuthFailure.SignatureFailure"
        if secret_id != self.secret_id:
            return "AuthFailure.SecretIdNotFound"
        signed = parts.get("SignedHeaders", "").split(";")
        if not {"content-type", "host"} <= set(signed):
            return "AuthFailure.SignatureFailure"
        canonical_headers = "".join(
            f"{name}:{(headers.get(name) or '').strip().lower()}\n" for name in signed
        )
        canonical_request = "\n".join(
            [
                "POST",
                "/",
                "",
                canonical_headers,
                ";".join(signed),
                hashlib.sha256(body).hexdigest(),
            ]
        )
        string_to_sign = "\n".join(
            [
                "TC3-HMAC-SHA256",
                timestamp,
                f"{day}/sms/tc3_request",
                hashlib.sha256(canonical_request.encode()).hexdigest(),
            ]
        )
        secret_date = _hmac(("TC3" + self.secret_key).encode(), day)
        secret_service = _hmac(secret_date, "sms")
        secret_signing = _hmac(secret_service, "tc3_request")
        expected = hmac.new(secret_signing, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts.get("Signature", "")):
            return "AuthFailure.SignatureFailure"
        return None


def _handler(server: FakeTencent) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, response: dict[str, Any]) -> None:
            response["RequestId"] = str(uuid.uuid4())
            data = json.dumps({"Response": response}).encode()
            try:
                self.send_response(200)  # API 3.0 answers errors with 200 and Error too
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up waiting
                pass

        def _error(self, code: str, message: str) -> None:
            self._reply({"Error": {"Code": code, "Message": message}})

        def _templates(self, request: dict[str, Any]) -> None:
            """DescribeSmsTemplateList (https://cloud.tencent.com/document/api/382/52067)."""
            if request.get("International") not in (0, 1) or not request.get("TemplateIdSet"):
                self._error("MissingParameter", "International and TemplateIdSet are required")
                return
            found = [t for t in request["TemplateIdSet"] if t in server.template_status]
            if not found:
                self._error("FailedOperation.TemplateIdNotExist", "template id does not exist")
                return
            self._reply({"DescribeTemplateStatusSet": [
                {"TemplateId": t, "International": 0, "StatusCode": server.template_status[t],
                 "ReviewReply": "", "TemplateName": "通知", "TemplateContent": "{1}",
                 "CreateTime": 1700000000} for t in found
            ]})  # fmt: skip

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            refused = server.refusal(self, body)
            if refused:
                self._error(refused, "The provided credentials could not be validated.")
                return
            request = json.loads(body)
            if self.headers.get("X-TC-Action") == "DescribeSmsTemplateList":
                self._templates(request)
                return
            with server.lock:
                server.bodies.append(request)
                answer = server.answers.pop(0) if server.answers else "Ok"
            phone = request["PhoneNumberSet"][0]
            variables = server.templates.get(str(request.get("TemplateId")))
            if variables is None:
                self._error("FailedOperation.TemplateIncorrectOrUnapproved", "template not found")
                return
            if len(request.get("TemplateParamSet") or []) != variables:
                self._error(
                    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                    "request content does not match the approved template",
                )
                return
            if answer == "silent":
                server.release.wait(10)
                return
            if answer in REQUEST_ERRORS:
                self._error(answer, f"error for {phone}")
                return
            serial = f"2433:{len(server.bodies)}"
            self._reply(
                {
                    "SendStatusSet": [
                        {
                            "SerialNo": serial if answer == "Ok" else "",
                            "PhoneNumber": phone,
                            "Fee": 1 if answer == "Ok" else 0,
                            "SessionContext": request.get("SessionContext", ""),
                            "Code": answer,
                            "Message": "send success" if answer == "Ok" else f"{answer} {phone}",
                            "IsoCode": "CN",
                        }
                    ]
                }
            )

    return Handler


@contextmanager
def running(server: FakeTencent) -> Iterator[FakeTencent]:
    http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    server.endpoint = f"127.0.0.1:{http.server_address[1]}"
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        http.shutdown()
        http.server_close()
