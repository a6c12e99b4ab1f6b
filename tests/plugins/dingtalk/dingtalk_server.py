"""A DingTalk open API on 127.0.0.1 for the tests, as documented: ``GET /gettoken``,
``POST /topapi/message/corpconversation/asyncsend_v2`` and ``POST /robot/send``, each
answering HTTP 200 with an ``errcode``. It checks what it is sent — the app key and secret,
that the access token is one it issued and has not expired, the JSON body's fields, and the
robot's ``timestamp`` and ``sign`` recomputed from the robot's secret — and keeps what it
accepted. ``answers`` scripts the next asyncsend answers (``rate_limited``, ``bad_user``,
``expired``); ``expire_tokens()`` makes every token it issued expired.

For 钉钉登录 it is also the login page and the new server API: ``GET /oauth2/auth`` signs in
``sign_in_as`` (a unionId; None: the person declines) and redirects back with ``authCode``
and ``state``; ``POST /v1.0/oauth2/userAccessToken`` takes a code once, ``GET
/v1.0/contact/users/me`` the user token in ``x-acs-dingtalk-access-token``, and ``POST
/topapi/user/getbyunionid`` the app's token, answering from ``members`` (unionId → userid
and contact type; others: errcode 60121). Errors of the new API are an HTTP status with JSON
``{"code", "message", "requestid"}``. Each sign-in request is kept in ``sign_in_requests``;
``delay`` holds back the userAccessToken answer (seconds)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

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
    # 钉钉登录
    sign_in_as: str | None = None
    members: dict[str, tuple[str, int]] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)  # authCode → unionId, until used
    user_tokens: dict[str, str] = field(default_factory=dict)  # user token → unionId
    sign_in_requests: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def sign(self, timestamp: str) -> str:
        text = f"{timestamp}\n{self.robot_secret}".encode()
        mac = hmac.new(self.robot_secret.encode(), text, hashlib.sha256).digest()
        return base64.b64encode(mac).decode()

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> Any:
        """The answer: a JSON object (HTTP 200), or (status, JSON object or None, headers)."""
        if path.startswith(("/oauth2/", "/v1.0/", "/topapi/user/")):
            self.sign_in_requests.append({
                "method": method, "path": path, "query": query, "body": body,
                "content_type": headers.get("Content-Type", ""),
                "token_header": headers.get("x-acs-dingtalk-access-token"),
            })  # fmt: skip
        if path == "/v1.0/oauth2/userAccessToken" and self.delay:
            time.sleep(self.delay)
        with self.lock:
            if method == "GET" and path == "/oauth2/auth":
                return self._authorize(query)
            if method == "POST" and path == "/v1.0/oauth2/userAccessToken":
                return self._user_token(headers, body)
            if method == "GET" and path == "/v1.0/contact/users/me":
                return self._me(headers)
            if method == "POST" and path == "/topapi/user/getbyunionid":
                return self._by_union_id(query, body)
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

    # --- 钉钉登录 -------------------------------------------------------------------------

    def _authorize(self, query: dict[str, str]) -> Any:
        expected = {"redirect_uri", "response_type", "client_id", "scope", "state", "prompt"}
        fixed = {"response_type": "code", "client_id": self.app_key, "scope": "openid",
                 "prompt": "consent"}  # fmt: skip
        if set(query) != expected or any(query[k] != v for k, v in fixed.items()):
            self.problems.append(f"malformed authorize request: {query}")
            return 400, {"code": "invalidParameter", "message": "参数错误"}, {}
        if self.sign_in_as is None:
            back = {"error": "access_denied", "state": query["state"]}
        else:
            code = secrets.token_hex(16)
            self.codes[code] = self.sign_in_as
            back = {"authCode": code, "state": query["state"]}
        return 302, None, {"Location": f"{query['redirect_uri']}?{urlencode(back)}"}

    def _user_token(self, headers: Any, body: bytes) -> Any:
        data = json.loads(body.decode()) if body else None
        fields = {"clientId", "clientSecret", "code", "grantType"}
        if (
            not headers.get("Content-Type", "").startswith("application/json")
            or not isinstance(data, dict)
            or set(data) != fields
            or data["grantType"] != "authorization_code"
        ):
            self.problems.append(f"malformed userAccessToken body: {data}")
            return 400, {"code": "MissingParameter", "message": "缺少参数"}, {}
        if data["clientId"] != self.app_key or data["clientSecret"] != self.app_secret:
            return 400, {"code": "invalidClientSecret", "message": "无效的clientSecret",
                         "requestid": "8C3A5F1E"}, {}  # fmt: skip
        union_id = self.codes.pop(data["code"], None)
        if union_id is None:  # unknown, or used already
            return 400, {"code": "invalidAuthCode", "message": "不合法的临时授权码",
                         "requestid": "8C3A5F1F"}, {}  # fmt: skip
        token = f"user-token-{secrets.token_hex(8)}"
        self.user_tokens[token] = union_id
        return {"accessToken": token, "refreshToken": f"refresh-{token}", "expireIn": 7200,
                "corpId": "ding9f50b15bccd16741"}  # fmt: skip

    def _me(self, headers: Any) -> Any:
        union_id = self.user_tokens.get(headers.get("x-acs-dingtalk-access-token") or "")
        if union_id is None:
            return 401, {"code": "InvalidAuthentication", "message": "不合法的access_token"}, {}
        return {"nick": "张三", "unionId": union_id, "openId": f"open-{union_id}",
                "avatarUrl": "https://static.dingtalk.com/a.png", "stateCode": "86"}  # fmt: skip

    def _by_union_id(self, query: dict[str, str], body: bytes) -> Any:
        if set(query) != {"access_token"} or query["access_token"] not in self.tokens:
            return SCRIPTED["expired"]
        data = json.loads(body.decode()) if body else None
        if not isinstance(data, dict) or set(data) != {"unionid"}:
            self.problems.append(f"malformed getbyunionid body: {data}")
            return {"errcode": 40035, "errmsg": "缺少参数"}
        if data["unionid"] not in self.members:
            return {"errcode": 60121, "errmsg": "找不到该用户", "request_id": "5imjny7u9xwa"}
        userid, contact_type = self.members[data["unionid"]]
        return {"errcode": 0, "errmsg": "ok", "request_id": "5imjny7u9xwb",
                "result": {"contact_type": contact_type, "userid": userid}}  # fmt: skip
