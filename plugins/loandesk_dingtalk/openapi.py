"""DingTalk's documented server API (钉钉开放平台), without Flask or the database: the access
token, work notifications (工作通知) and the custom group robot (自定义机器人), written against
the documentation (the official SDK does not cover the old ``oapi`` endpoints):

- ``GET /gettoken?appkey=&appsecret=`` → ``{"errcode": 0, "access_token", "expires_in"}``
  (open.dingtalk.com "获取企业内部应用的 access_token");
- ``POST /topapi/message/corpconversation/asyncsend_v2?access_token=`` with JSON
  ``{"agent_id", "userid_list", "msg"}`` → ``{"errcode": 0, "errmsg": "ok", "task_id"}``
  ("发送工作通知");
- ``POST /robot/send?access_token=&timestamp=&sign=`` with JSON ``{"msgtype", ...}`` →
  ``{"errcode": 0, "errmsg": "ok"}`` ("自定义机器人安全设置: 加签"), where ``sign`` is
  ``base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))``, URL-encoded, and ``timestamp``
  milliseconds since the epoch.

Every answer is HTTP 200 with an ``errcode``. Error texts name the errcode and errmsg, never
the app secret, a token or the robot's secret (they travel only in query strings, which are
left out of every text here).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

import requests

# The codes relied on, from DingTalk's global error codes (服务端错误码, open.dingtalk.com):
# 40001 "获取access_token时Secret错误，或者access_token无效", 40014 "不合法的access_token",
# 42001 "access_token超时"; 88 "鉴权异常" (its sub_code says more: an invalid token, or a
# missing permission such as 60011). These mean: fetch a new token and try once more.
TOKEN_CODES = frozenset({40001, 40014, 42001, 88})
# -1 "系统繁忙" (the documentation: try again later) and the rate limits: 90002 (the server's
# calls to the platform are blocked for a while), 90005 / 90006 (over 1500 calls a minute to
# one API), 90018 (over 40 calls a second per app key), 41047 / 41048 (work notifications a
# minute), and the robot's 130101 (over 20 messages a minute). Tried again later.
RETRY_CODES = frozenset({-1, 90002, 90005, 90006, 90018, 41047, 41048, 130101})


_QUERY_SECRETS = re.compile(r"\b(access_token|appsecret|sign)=[^&\s\"]*")


class _RedactQuery(logging.Filter):
    """urllib3 logs each request's URL at DEBUG; DingTalk's API takes the app secret, the
    access token and the robot's token and signature in the query string, so they are
    masked before any handler sees the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if _QUERY_SECRETS.search(text):
            record.msg, record.args = _QUERY_SECRETS.sub(r"\1=***", text), ()
        return True


def _redact_request_logs() -> None:
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactQuery) for f in logger.filters):
        logger.addFilter(_RedactQuery())


class DingTalkError(Exception):
    """DingTalk did not take the request this time (no answer, HTTP error, a rate limit,
    busy): the outbox or the automation tries again later."""


class Refused(Exception):
    """DingTalk refused the request for good (an invalid userid or agent id, no permission,
    a wrong robot signature): ``errcode`` and ``errmsg`` say why."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"DingTalk errcode {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class TokenRejected(Refused):
    """The access token was refused (expired or invalid): fetch a new one."""


@dataclass(frozen=True)
class App:
    base_url: str
    app_key: str
    app_secret: str
    timeout: int


@dataclass(frozen=True)
class Token:
    value: str
    expires_in: int


def get_token(app: App) -> Token:
    """A new access token for the app. ``Refused`` when the key or secret is wrong."""
    data = _call("GET", app.base_url, "/gettoken", {"appkey": app.app_key,
                 "appsecret": app.app_secret}, None, app.timeout)  # fmt: skip
    _check(data, token_call=True)
    return Token(str(data["access_token"]), int(data.get("expires_in") or 7200))


def send_work_notification(
    app: App, token: str, agent_id: int, userids: list[str], msg: dict[str, Any]
) -> str:
    """Send ``msg`` as a work notification to ``userids``; DingTalk's task id.
    ``TokenRejected`` for a refused token, ``DingTalkError`` to try later, ``Refused``."""
    body = {"agent_id": agent_id, "userid_list": ",".join(userids), "msg": msg}
    path = "/topapi/message/corpconversation/asyncsend_v2"
    data = _call("POST", app.base_url, path, {"access_token": token}, body, app.timeout)
    _check(data)
    return str(data.get("task_id", ""))


def robot_sign(secret: str, timestamp_ms: int) -> str:
    """The robot's ``sign`` before URL encoding: base64 of HMAC-SHA256 keyed with the secret
    over ``"{timestamp}\\n{secret}"``."""
    text = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), text, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def robot_send(
    base_url: str, access_token: str, secret: str, body: dict[str, Any], *, timestamp_ms: int,
    timeout: int,
) -> None:  # fmt: skip
    """Post ``body`` to the group robot, signed. ``DingTalkError`` / ``Refused``."""
    query = {"access_token": access_token}
    if secret:
        query |= {"timestamp": str(timestamp_ms), "sign": robot_sign(secret, timestamp_ms)}
    _check(_call("POST", base_url, "/robot/send", query, body, timeout))


def _call(
    method: str, base_url: str, path: str, query: dict[str, str], body: Any, timeout: int
) -> dict[str, Any]:
    _redact_request_logs()
    url = f"{base_url.rstrip('/')}{path}?{urllib.parse.urlencode(query)}"
    try:
        answer = requests.request(
            method, url, json=body, timeout=timeout, allow_redirects=False,
            headers={"Content-Type": "application/json; charset=utf-8"} if body else {},
        )  # fmt: skip
    except requests.Timeout:
        raise DingTalkError(f"{path}: no answer within {timeout} s") from None
    except requests.RequestException as problem:  # its text names the URL and its secrets
        raise DingTalkError(f"{path}: DingTalk cannot be reached ({type(problem).__name__})")\
            from None  # fmt: skip
    if answer.status_code != 200:
        raise DingTalkError(f"{path}: HTTP {answer.status_code}")
    try:
        data = answer.json()
    except ValueError:
        raise DingTalkError(f"{path}: the answer is not JSON") from None
    if not isinstance(data, dict):
        raise DingTalkError(f"{path}: the answer is not a JSON object")
    return data


def _check(data: dict[str, Any], *, token_call: bool = False) -> None:
    try:
        errcode = int(data.get("errcode", -1))
    except (TypeError, ValueError):
        errcode = -1
    if errcode == 0:
        return
    errmsg = " ".join(str(data.get("errmsg", "")).split())[:300]
    if errcode in RETRY_CODES or "频率" in errmsg:
        raise DingTalkError(f"DingTalk errcode {errcode}: {errmsg} (tried again later)")
    if errcode in TOKEN_CODES and not token_call:
        raise TokenRejected(errcode, errmsg)
    raise Refused(errcode, errmsg)
