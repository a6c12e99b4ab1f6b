"""A small payout provider for tests, and ``HttpPayouts``: a test-only connector plugin that
speaks its API through a real HTTP client. The API (a funder's or bank's typical 代付 API):

``POST /payouts`` with JSON ``{"out_trade_no", "amount", "account_no", "account_name",
"bank", "notify_url"}`` and header ``X-Signature`` = hex HMAC-SHA256 of the body with the
shared secret. Answer: ``{"payout_id", "status", "paid_date", "message"}`` where status is
``SUCCESS``, ``PROCESSING`` (the result comes later to ``notify_url``) or ``FAIL``. The same
``out_trade_no`` again answers with the first payout: money moves once per number.

The callback is a ``POST`` to ``notify_url`` with the same JSON shape (plus
``out_trade_no``) and its own ``X-Signature``. ``next`` makes the next payouts succeed,
stay processing or fail; ``callback(out_trade_no, status)`` gives the signed callback the
provider would send, for the test to deliver.

``GET /payouts/{out_trade_no}`` asks for a payout's result (for a merchant that missed the
callback): ``X-Signature`` is the HMAC of the path (``/payouts/{out_trade_no}``), the answer
is the callback's JSON with the provider's own ``X-Signature`` of the body, or 404 for a
number it never saw. ``settle(out_trade_no, status)`` changes a payout's status silently (no
callback: the provider that never calls back); ``queries`` counts the questions."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import requests

from loandesk.sdk import (
    InvalidCallback,
    PayoutRequest,
    PayoutResult,
    PluginInfo,
    hookimpl,
)

SECRET = "payout-secret-5d1e"
STATUSES = {"SUCCESS": "paid", "PROCESSING": "pending", "FAIL": "failed"}


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class FakeProvider:
    url: str = ""
    next: list[str] = field(default_factory=list)  # SUCCESS / PROCESSING / FAIL, in turn
    payouts: dict[str, dict[str, Any]] = field(default_factory=dict)  # by out_trade_no
    requests: int = 0
    queries: int = 0
    paid_on: str = "2025-03-03"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.requests += 1
            key = body["out_trade_no"]
            if key not in self.payouts:
                status = self.next.pop(0) if self.next else "SUCCESS"
                self.payouts[key] = {
                    "payout_id": f"P{len(self.payouts) + 1:04d}",
                    "status": status,
                    "paid_date": self.paid_on if status == "SUCCESS" else None,
                    "message": "账户状态异常" if status == "FAIL" else "",
                    "amount": body["amount"],
                }
            return self.payouts[key]

    def settle(self, key: str, status: str) -> None:
        """Payout ``key`` becomes ``status`` at the provider, telling nobody."""
        with self.lock:
            payout = self.payouts[key]
            payout["status"] = status
            payout["paid_date"] = self.paid_on if status == "SUCCESS" else None
            payout["message"] = "账户状态异常" if status == "FAIL" else ""

    def callback(self, key: str, status: str) -> tuple[dict[str, str], bytes]:
        """The provider's signed callback settling payout ``key`` as ``status``."""
        self.settle(key, status)
        body = json.dumps({"out_trade_no": key, **self.payouts[key]}).encode()
        return {"X-Signature": sign(body), "Content-Type": "application/json"}, body

    def look_up(self, key: str) -> dict[str, Any] | None:
        with self.lock:
            self.queries += 1
            payout = self.payouts.get(key)
            return {"out_trade_no": key, **payout} if payout is not None else None

    @property
    def paid(self) -> list[str]:
        return [k for k, p in self.payouts.items() if p["status"] == "SUCCESS"]


def _handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            signature = self.headers.get("X-Signature", "")
            signed = hmac.compare_digest(sign(self.path.encode()), signature)
            if not self.path.startswith("/payouts/"):
                status, answer = 404, {"message": "no such API"}
            elif not signed:
                status, answer = 401, {"message": "bad signature"}
            elif (found := provider.look_up(self.path.removeprefix("/payouts/"))) is None:
                status, answer = 404, {"message": "no such payout"}
            else:
                status, answer = 200, found
            self._answer(status, answer)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != "/payouts":
                status, answer = 404, {"message": "no such API"}
            elif not hmac.compare_digest(sign(body), self.headers.get("X-Signature", "")):
                status, answer = 401, {"message": "bad signature"}
            else:
                status, answer = 200, provider.take(json.loads(body))
            self._answer(status, answer)

        def _answer(self, status: int, answer: dict[str, Any]) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Signature", sign(data))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def running(provider: FakeProvider) -> Iterator[FakeProvider]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


class HttpPayouts:
    """The test-only connector plugin: key ``fakepay``."""

    PLUGIN = PluginInfo(name="fakepay", title_zh="测试代付", title_en="Test payouts", version="1")
    key = "fakepay"
    label_zh = "测试代付通道"
    label_en = "Test payout channel"

    def __init__(self, provider: FakeProvider) -> None:
        self.provider = provider

    @hookimpl
    def loandesk_connectors(self) -> list[Any]:
        from loandesk.sdk import Connector

        return [Connector("fakepay", "测试代付", "Test payouts", "fakepay", self.test)]

    def test(self, session: Any) -> str:
        """Ask about a payout that was never made: a signed question that moves no money."""
        try:
            self.query(f"loandesk-connection-test-{uuid.uuid4()}")
        except LookupError:
            return "the provider answered: no such payout"
        raise RuntimeError("the provider knows a payout it was never asked to make")

    @hookimpl
    def loandesk_payout_connectors(self) -> list[Any]:
        return [self]

    def pay(self, request: PayoutRequest) -> PayoutResult:
        body = json.dumps(
            {
                "out_trade_no": request.idempotency_key,
                "amount": str(request.amount),
                "account_no": request.account_number,
                "account_name": request.account_name,
                "bank": request.bank_name,
                "notify_url": request.callback_url,
            }
        ).encode()
        answer = requests.post(
            self.provider.url + "/payouts",
            data=body,
            headers={"X-Signature": sign(body), "Content-Type": "application/json"},
            timeout=5,
        )
        answer.raise_for_status()
        return self._result(answer.json(), request.idempotency_key)

    def query(self, idempotency_key: str) -> PayoutResult:
        path = f"/payouts/{quote(idempotency_key, safe='')}"
        answer = requests.get(
            self.provider.url + path, headers={"X-Signature": sign(path.encode())}, timeout=5
        )
        if answer.status_code == 404:
            raise LookupError(f"the provider does not know payout {idempotency_key}")
        answer.raise_for_status()
        if not hmac.compare_digest(sign(answer.content), answer.headers.get("X-Signature", "")):
            raise InvalidCallback("bad signature on the provider's answer")
        return self._result(answer.json(), idempotency_key)

    def read_callback(self, headers: Mapping[str, str], body: bytes) -> PayoutResult:
        signature = {k.lower(): v for k, v in headers.items()}.get("x-signature", "")
        if not hmac.compare_digest(sign(body), signature):
            raise InvalidCallback("bad signature")
        data = json.loads(body)
        return self._result(data, str(data["out_trade_no"]))

    def _result(self, data: dict[str, Any], key: str) -> PayoutResult:
        paid = data.get("paid_date")
        return PayoutResult(
            reference=str(data["payout_id"]),
            status=STATUSES[data["status"]],
            paid_on=dt.date.fromisoformat(paid) if paid else None,
            message=str(data.get("message") or ""),
            idempotency_key=key,
            amount=Decimal(str(data["amount"])) if data.get("amount") else None,
        )
