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

Signing staff in (钉钉登录, "获取登录用户的访问凭证") uses the new server API instead
(``api.dingtalk.com``), which answers errors with an HTTP status (400, 401, 403, ...) and a
JSON ``{"code", "message", "requestid"}``:

- ``POST /v1.0/oauth2/userAccessToken`` with JSON ``{"clientId": AppKey, "clientSecret":
  AppSecret, "code", "grantType": "authorization_code"}`` → ``{"accessToken", "refreshToken",
  "expireIn", "corpId"}`` ("获取用户token");
- ``GET /v1.0/contact/users/me`` with the header ``x-acs-dingtalk-access-token`` → the
  person's ``{"nick", "unionId", "openId", ...}`` ("获取用户通讯录个人信息");

and then the old API again: ``POST /topapi/user/getbyunionid?access_token=`` (the app's
token) with JSON ``{"unionid"}`` → ``{"errcode": 0, "result": {"contact_type", "userid"}}``
("根据unionid获取用户userid"; errcode 60121 "找不到该用户": not in the firm's organisation).
This is OAuth 2.0 in spirit, not in form (a JSON body with camelCase names, ``accessToken``
in the answer), so it is called directly rather than through authlib's OAuth 2 client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import requests

from loandesk import sdk

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


# travel in query strings: masked in urllib3's DEBUG request lines (sdk.mask_request_logs)
QUERY_SECRETS = ("access_token", "appsecret", "sign")


class DingTalkError(Exception):
    """DingTalk did not take the request this time (no answer, HTTP error, a rate limit,
    busy): the outbox or the automation tries again later."""


class Refused(Exception):
    """DingTalk refused the request for good (an invalid userid or agent id, no permission,
    a wrong robot signature): ``errcode`` and ``errmsg`` say why."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"DingTalk errcode {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class ApiRefused(Exception):
    """The new server API answered with an error: HTTP ``status`` and DingTalk's ``code``
    and ``message`` (a used or unknown authorization code, a wrong app secret, ...)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"DingTalk HTTP {status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


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


def user_access_token(app: App, api_url: str, code: str) -> str:
    """The access token of the person who signed in and was given ``code`` (good once).
    ``ApiRefused`` for a code or app DingTalk refuses, ``DingTalkError`` for no answer."""
    body = {"clientId": app.app_key, "clientSecret": app.app_secret, "code": code,
            "grantType": "authorization_code"}  # fmt: skip
    data = _call_api("POST", api_url, "/v1.0/oauth2/userAccessToken", body, {}, app.timeout)
    token = data.get("accessToken")
    if not isinstance(token, str) or not token:
        raise DingTalkError("/v1.0/oauth2/userAccessToken: the answer has no accessToken")
    return token


def union_id_of_user(api_url: str, user_token: str, timeout: int) -> str:
    """The unionId of the person whose access token ``user_token`` is."""
    headers = {"x-acs-dingtalk-access-token": user_token}
    data = _call_api("GET", api_url, "/v1.0/contact/users/me", None, headers, timeout)
    union_id = data.get("unionId")
    if not isinstance(union_id, str) or not union_id:
        raise DingTalkError("/v1.0/contact/users/me: the answer has no unionId")
    return union_id


def userid_by_union_id(app: App, token: str, union_id: str) -> tuple[str, int]:
    """The person's userid in the firm's organisation and their ``contact_type`` (0: an
    employee, 1: an outside contact). ``Refused`` (60121) when they are not in it,
    ``TokenRejected`` for a refused app token."""
    path = "/topapi/user/getbyunionid"
    data = _call("POST", app.base_url, path, {"access_token": token}, {"unionid": union_id},
                 app.timeout)  # fmt: skip
    _check(data)
    result = data.get("result")
    if not isinstance(result, dict) or not isinstance(result.get("userid"), str):
        raise DingTalkError(f"{path}: the answer has no userid")
    contact_type = result.get("contact_type", 0)
    return result["userid"], contact_type if isinstance(contact_type, int) else -1


def _call_api(
    method: str, api_url: str, path: str, body: Any, headers: dict[str, str], timeout: int
) -> dict[str, Any]:
    """A call to the new server API: JSON in and out, errors as an HTTP status and JSON."""
    url = f"{api_url.rstrip('/')}{path}"
    try:
        answer = requests.request(method, url, json=body, headers=headers, timeout=timeout,
                                  allow_redirects=False)  # fmt: skip
    except requests.Timeout:
        raise DingTalkError(f"{path}: no answer within {timeout} s") from None
    except requests.RequestException as problem:
        raise DingTalkError(f"{path}: DingTalk cannot be reached ({type(problem).__name__})")\
            from None  # fmt: skip
    try:
        data = answer.json()
    except ValueError:
        data = None
    if answer.status_code >= 500:
        raise DingTalkError(f"{path}: HTTP {answer.status_code}")
    if answer.status_code != 200:
        error = data if isinstance(data, dict) else {}
        message = " ".join(str(error.get("message", "")).split())[:300]
        raise ApiRefused(answer.status_code, str(error.get("code", ""))[:100], message)
    if not isinstance(data, dict):
        raise DingTalkError(f"{path}: the answer is not a JSON object")
    return data


def _call(
    method: str, base_url: str, path: str, query: dict[str, str], body: Any, timeout: int
) -> dict[str, Any]:
    return sdk.call_json(method, base_url, path, query, body, timeout=timeout, provider="DingTalk",
                         error=DingTalkError, secret_names=QUERY_SECRETS)  # fmt: skip


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
