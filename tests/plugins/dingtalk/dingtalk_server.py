"""A DingTalk open API on 127.0.0.1 for the tests, as documented: ``GET /gettoken``,
``POST /topapi/message/corpconversation/asyncsend_v2`` and ``POST /robot/send``, each
answering HTTP 200 with an ``errcode``. It checks what it is sent — the app key and secret,
that the access token is one it issued and has not expired, the JSON body's fields, and the
robot's ``timestamp`` and ``sign`` recomputed from the robot's secret — and keeps what it
accepted. ``answers`` scripts the next asyncsend answers (``rate_limited``, ``bad_user``,
``expired``); ``expire_tokens()`` makes every token it issued expired."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SCRIPTED = {
    "rate_limited": {"errcode": 90018, "errmsg": "当前企业调用该接口超过频率限制"},
    "bad_user": {"errcode": 33012, "errmsg": "无效的USERID"},
    "expired": {"errcode": 42001, "errmsg": "access_token超时"},
}


@dataclass
class FakeDingTalk:
    app_key: str
    app_secret: str
    agent_id: int
    robot_token: str
    robot_secret: str
    url: str = ""
    token_requests: int = 0
    tokens: set[str] = field(default_factory=set)
    answers: list[str] = field(default_factory=list)
    sends: list[dict[str, Any]] = field(default_factory=list)  # every asyncsend body
    accepted: list[dict[str, Any]] = field(default_factory=list)  # those answered errcode 0
    robot_posts: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def sign(self, timestamp: str) -> str:
        text = f"{timestamp}\n{self.robot_secret}".encode()
        mac = hmac.new(self.robot_secret.encode(), text, hashlib.sha256).digest()
        return base64.b64encode(mac).decode()

    def handle(self, method: str, path: str, query: dict[str, str], body: bytes) -> Any:
        with self.lock:
            if method == "GET" and path == "/gettoken":
                return self._token(query)
            data = json.loads(body.decode()) if body else None
            if method == "POST" and path == "/topapi/message/corpconversation/asyncsend_v2":
                return self._send(query, data)
            if method == "POST" and path == "/robot/send":
                return self._robot(query, data)
            return {"errcode": 404, "errmsg": "请求的URI地址不存在"}

    def _token(self, query: dict[str, str]) -> Any:
        self.token_requests += 1
        if query != {"appkey": self.app_key, "appsecret": self.app_secret}:
            return {"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"}
        token = f"token-{self.token_requests}"
        self.tokens.add(token)
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}

    def _send(self, query: dict[str, str], data: Any) -> Any:
        if set(query) != {"access_token"} or query["access_token"] not in self.tokens:
            return SCRIPTED["expired"]
        self.sends.append(data)
        if set(data) != {"agent_id", "userid_list", "msg"} or data["agent_id"] != self.agent_id:
            self.problems.append(f"malformed body: {data}")
            return {"errcode": 40035, "errmsg": "缺少参数"}
        if self.answers:
            return SCRIPTED[self.answers.pop(0)]
        self.accepted.append(data)
        return {"errcode": 0, "errmsg": "ok", "task_id": 256271667526 + len(self.accepted)}

    def _robot(self, query: dict[str, str], data: Any) -> Any:
        if query.get("access_token") != self.robot_token:
            return {"errcode": 300001, "errmsg": "token is not exist"}
        if set(query) != {"access_token", "timestamp", "sign"} or query["sign"] != self.sign(
            query["timestamp"]
        ):
            return {"errcode": 310000, "errmsg": "sign not match"}
        self.robot_posts.append({"timestamp": query["timestamp"], "body": data})
        return {"errcode": 0, "errmsg": "ok"}


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def _answer(self, method: str) -> None:
        parts = urlsplit(self.path)
        pairs = parse_qs(parts.query, keep_blank_values=True)
        query = {k: v[0] for k, v in pairs.items()}
        length = int(self.headers.get("Content-Length") or 0)
        answer = self.server.fake.handle(method, parts.path, query, self.rfile.read(length))
        payload = json.dumps(answer, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@contextmanager
def running(fake: FakeDingTalk) -> Iterator[FakeDingTalk]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.fake = fake  # type: ignore[attr-defined]
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
