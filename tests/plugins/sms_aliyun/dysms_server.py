"""A small Alibaba Cloud SMS API (Dysmsapi 2017-05-25) for tests, as documented at
https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature (request
structure and signature V3) and
https://help.aliyun.com/zh/sms/developer-reference/api-dysmsapi-2017-05-25-sendsms (SendSms).

It takes ``POST /`` with the action in ``x-acs-action`` and the parameters in the query, checks
the AccessKey ID and recomputes the ``ACS3-HMAC-SHA256`` signature from the AccessKey Secret on
its own from the request as received (canonical request, hashed payload, string to sign,
HMAC-SHA256), refusing a bad one with the documented error JSON (HTTP 400,
``SignatureDoesNotMatch``). ``answers`` makes the next requests meet a business error code
(HTTP 200, as Alibaba Cloud answers them) or ``slow`` (answers only after ``release``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

AUTHORIZATION = re.compile(
    r"^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$"
)
REQUIRED_SIGNED = {
    "host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce",
    "x-acs-content-sha256",
}  # fmt: skip
ERRORS = {
    "limit": ("isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控Permits:10"),
    "illegal": ("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"),
    "blocked_word": ("isv.BLACK_KEY_CONTROL_LIMIT", "黑名单管控"),
    "balance": ("isv.AMOUNT_NOT_ENOUGH", "账户余额不足"),
}


@dataclass
class FakeDysms:
    access_key_id: str
    secret: str
    host: str = ""
    accepted: list[dict[str, str]] = field(default_factory=list)  # SendSms parameters
    requests: list[str] = field(default_factory=list)  # OutIds of signed requests
    refused: list[str] = field(default_factory=list)  # error codes answered
    answers: list[str] = field(default_factory=list)
    # the account's approved templates: TemplateCode -> its variables (``${name}``)
    templates: dict[str, set[str]] = field(default_factory=lambda: {"SMS_465012345": {"content"}})
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # QuerySmsTemplate: code -> TemplateStatus (0 under review, 1 approved, 2 rejected)
    template_status: dict[str, int] = field(default_factory=dict)

    def check(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, str, str] | None:
        """None for a well signed request; else the documented HTTP status, code, message."""
        found = AUTHORIZATION.match(handler.headers.get("Authorization", ""))
        if not found:
            return (
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards.",
            )
        credential, signed_headers, signature = found.groups()
        if credential != self.access_key_id:
            return 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
        names = signed_headers.split(";")
        if not set(names) >= REQUIRED_SIGNED or names != sorted(names):
            return (
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards.",
            )
        payload = hashlib.sha256(body).hexdigest()
        if handler.headers.get("x-acs-content-sha256") != payload:
            return (
                400,
                "SignatureDoesNotMatch",
                "Specified signature does not match our calculation.",
            )
        url = urlsplit(handler.path)
        query = sorted(parse_qsl(url.query, keep_blank_values=True))
        canonical_query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in query)
        canonical_headers = "".join(
            f"{name}:{(handler.headers.get(name) or '').strip()}\n" for name in names
        )
        canonical_request = "\n".join(
            [handler.command, url.path or "/", canonical_query, canonical_headers,
             signed_headers, payload]
        )  # fmt: skip
        string_to_sign = (
            "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical_request.encode()).hexdigest()
        )
        expected = hmac.new(self.secret.encode(), string_to_sign.encode(), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), signature):
            return (
                400,
                "SignatureDoesNotMatch",
                "Specified signature does not match our calculation.",
            )
        return None


def _handler(server: FakeDysms) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, answer: dict[str, Any]) -> None:
            data = json.dumps(answer, ensure_ascii=False).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up waiting
                pass

        def _error(self, status: int, code: str, message: str) -> None:
            with server.lock:
                server.refused.append(code)
            self._reply(
                status,
                {"RequestId": "req-err", "HostId": server.host, "Code": code, "Message": message,
                 "Recommend": "https://api.aliyun.com/troubleshoot"},
            )  # fmt: skip

        def _template(self, params: dict[str, str]) -> None:
            """QuerySmsTemplate (https://help.aliyun.com/zh/sms/developer-reference/api-dysmsapi-2017-05-25-querysmstemplate)."""
            code = params.get("TemplateCode", "")
            if code not in server.template_status:
                self._reply(200, {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "RequestId": "req-t",
                                  "Message": "模板不合法(不存在或被拉黑)"})  # fmt: skip
                return
            self._reply(200, {"Code": "OK", "Message": "OK", "RequestId": "req-t",
                              "TemplateCode": code, "TemplateStatus": server.template_status[code],
                              "TemplateType": 0, "TemplateName": "通知",
                              "TemplateContent": "${content}"})  # fmt: skip

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            problem = server.check(self, body)
            if problem:
                self._error(*problem)
                return
            action = self.headers.get("x-acs-action")
            if action == "QuerySmsTemplate" and self.headers.get("x-acs-version") == "2017-05-25":
                self._template(dict(parse_qsl(urlsplit(self.path).query)))
                return
            if (action, self.headers.get("x-acs-version")) != ("SendSms", "2017-05-25"):
                self._error(404, "InvalidAction.NotFound", "Specified api is not found.")
                return
            params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
            for name in ("PhoneNumbers", "SignName", "TemplateCode"):
                if not params.get(name):
                    self._error(400, "MissingParameter", f"{name} is mandatory for this action.")
                    return
            try:
                variables = json.loads(params.get("TemplateParam", "{}"))
            except ValueError:
                self._reply(200, {"Code": "isv.INVALID_JSON_PARAM", "Message": "JSON参数不合法",
                                  "RequestId": "req-json"})  # fmt: skip
                return
            wanted = server.templates.get(params["TemplateCode"])
            if wanted is None:
                self._reply(200, {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "RequestId": "req-t",
                                  "Message": "该账号下找不到对应模板"})  # fmt: skip
                return
            if set(variables) != wanted:
                self._reply(200, {"Code": "isv.TEMPLATE_MISSING_PARAMETERS", "RequestId": "req-p",
                                  "Message": "模板变量缺少对应参数值"})  # fmt: skip
                return
            with server.lock:
                server.requests.append(params.get("OutId", ""))
                answer = server.answers.pop(0) if server.answers else "ok"
            if answer in ERRORS:
                code, message = ERRORS[answer]
                with server.lock:
                    server.refused.append(code)
                self._reply(200, {"Code": code, "Message": message, "RequestId": "req-b"})
                return
            if answer == "slow":
                server.release.wait(10)
            with server.lock:
                server.accepted.append(params)
                biz_id = f"{900619746936498 + len(server.accepted)}^0"
            self._reply(
                200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": "req-ok"}
            )

    return Handler


@contextmanager
def running(server: FakeDysms) -> Iterator[FakeDysms]:
    http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    server.host = f"127.0.0.1:{http.server_address[1]}"
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        http.shutdown()
        http.server_close()
