"""WeCom's documented server API (企业微信服务端 API, developer.work.weixin.qq.com), without
Flask or the database; WeCom keeps no official Python SDK, so the client is written against
the documentation:

- ``GET /cgi-bin/gettoken?corpid=&corpsecret=`` → ``{"errcode": 0, "errmsg": "ok",
  "access_token", "expires_in": 7200}`` ("获取access_token", document/path/91039);
- ``POST /cgi-bin/message/send?access_token=`` with JSON ``{"touser", "msgtype", "agentid",
  ...}`` → ``{"errcode": 0, "errmsg": "ok", "invaliduser", "unlicenseduser", "msgid"}``
  ("发送应用消息", document/path/90236; the ``template_card`` of card type ``text_notice``:
  document/path/90372);
- ``POST /cgi-bin/webhook/send?key=`` with JSON ``{"msgtype": "text" | "markdown", ...}`` →
  ``{"errcode": 0, "errmsg": "ok"}`` ("群机器人配置说明", document/path/91770). The robot has no
  signature: its key in the URL is its only credential.

Signing staff in (企业微信登录; "企业微信Web登录", "构造企业微信登录链接",
document/path/98171): the browser goes to ``https://login.work.weixin.qq.com/wwlogin/sso/
login?login_type=CorpApp&appid=<corp id>&agentid=<agent id>&redirect_uri=&state=`` and comes
back with ``code`` and ``state`` (only ``state`` when the person does not sign in); then

- ``GET /cgi-bin/auth/getuserinfo?access_token=&code=`` (the app's token) →
  ``{"errcode": 0, "errmsg": "ok", "userid"}`` for a member of the firm, and
  ``{"errcode": 0, "errmsg": "ok", "openid", "external_userid"}`` for anyone else
  ("获取用户登录身份", document/path/98177, for self-built apps too); errcode 40029
  "invalid code" (used, expired after five minutes, or never issued), 50001 (the
  redirect's domain is not the app's trusted domain).

Every answer is HTTP 200 with an ``errcode``. Error texts name the errcode and errmsg, never
the app secret, a token or the robot's key (they travel only in query strings, which are left
out of every text here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loandesk import sdk

# The codes relied on, from WeCom's global error codes (全局错误码, document/path/90313):
# 40014 "不合法的access_token", 42001 "access_token已过期" and 41001 "缺少access_token参数"
# mean: fetch a new token and try once more. 40001 "不合法的secret参数" is the same for a call
# with a token; at gettoken itself it means a wrong secret, which no retry mends.
TOKEN_CODES = frozenset({40001, 40014, 41001, 42001})
# -1 "系统繁忙" ("建议稍候重试"), 45009 "接口调用超过限制" (the API's rate limits, and a robot's
# 20 messages a minute), 45033 "接口并发调用超过限制", 6000 "数据版本冲突" ("稍后重试"):
# tried again later.
RETRY_CODES = frozenset({-1, 6000, 45009, 45033})
# Everything else is permanent for this message: 81013 "UserID、部门ID、标签ID全部非法或无权限"
# (the userid is not in the app's visible range or does not exist), 40003 "无效的UserID",
# 40056 "不合法的agentid", 40013 "不合法的CorpID", 60020 "不安全的访问IP", 93000 (robot: the
# webhook key is invalid or the robot was removed from its group), ...


# travel in query strings: masked in urllib3's DEBUG request lines (sdk.mask_request_logs)
QUERY_SECRETS = ("access_token", "corpsecret", "key", "code")


class WeComError(Exception):
    """WeCom did not take the request this time (no answer, HTTP error, a rate limit, busy):
    the outbox or the automation tries again later."""


class Refused(Exception):
    """WeCom refused the request for good (an invalid userid or agent id, a wrong secret, an
    unknown robot key): ``errcode`` and ``errmsg`` say why."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeCom errcode {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class TokenRejected(Refused):
    """The access token was refused (expired or invalid): fetch a new one."""


@dataclass(frozen=True)
class App:
    base_url: str
    corp_id: str
    app_secret: str
    agent_id: int
    timeout: int


@dataclass(frozen=True)
class Token:
    value: str
    expires_in: int


def get_token(app: App) -> Token:
    """A new access token for the app. ``Refused`` when the corp id or secret is wrong."""
    data = _call("GET", app.base_url, "/cgi-bin/gettoken", {"corpid": app.corp_id,
                 "corpsecret": app.app_secret}, None, app.timeout)  # fmt: skip
    _check(data, token_call=True)
    return Token(str(data["access_token"]), int(data.get("expires_in") or 7200))


def send_app_message(app: App, token: str, userid: str, message: dict[str, Any]) -> str:
    """Send ``message`` (``{"msgtype": ..., <msgtype>: {...}}``) to one member as an app
    message; WeCom's msgid. ``TokenRejected`` for a refused token, ``WeComError`` to try
    later, ``Refused`` (also when WeCom answers ok but names the member invalid or without a
    licence: the message did not reach them)."""
    body = {"touser": userid, "agentid": app.agent_id, **message}
    data = _call("POST", app.base_url, "/cgi-bin/message/send", {"access_token": token}, body,
                 app.timeout)  # fmt: skip
    _check(data)
    for field in ("invaliduser", "unlicenseduser"):  # WeCom lower-cases the userids it names
        if userid.lower() in str(data.get(field) or "").lower().split("|"):
            raise Refused(0, f"{field} {userid}")
    return str(data.get("msgid", ""))


def member_of_code(app: App, token: str, code: str) -> str | None:
    """The userid of the member a sign-in ``code`` was issued to; None when WeCom vouches
    for someone who is not a member of the firm (an ``openid`` / ``external_userid``
    answer). ``TokenRejected`` / ``Refused`` (40029: a bad code) / ``WeComError``."""
    data = _call("GET", app.base_url, "/cgi-bin/auth/getuserinfo",
                 {"access_token": token, "code": code}, None, app.timeout)  # fmt: skip
    _check(data)
    userid = data.get("userid")
    return str(userid) if userid else None


def robot_send(base_url: str, key: str, body: dict[str, Any], *, timeout: int) -> None:
    """Post ``body`` to the group robot whose webhook key is ``key``. ``WeComError`` /
    ``Refused``."""
    _check(_call("POST", base_url, "/cgi-bin/webhook/send", {"key": key}, body, timeout))


def _call(
    method: str, base_url: str, path: str, query: dict[str, str], body: Any, timeout: int
) -> dict[str, Any]:
    return sdk.call_json(method, base_url, path, query, body, timeout=timeout, provider="WeCom",
                         error=WeComError, secret_names=QUERY_SECRETS)  # fmt: skip


def _check(data: dict[str, Any], *, token_call: bool = False) -> None:
    try:
        errcode = int(data.get("errcode", -1))
    except (TypeError, ValueError):
        errcode = -1
    if errcode == 0:
        return
    # WeCom's errmsg ends with "hint: [...], from ip: ..., more info at ...": the code and
    # its short text are what an admin needs; the caller's IP is left out
    errmsg = " ".join(str(data.get("errmsg", "")).split(", hint:")[0].split())[:300]
    if errcode in RETRY_CODES:
        raise WeComError(f"WeCom errcode {errcode}: {errmsg} (tried again later)")
    if errcode in TOKEN_CODES and not token_call:
        raise TokenRejected(errcode, errmsg)
    raise Refused(errcode, errmsg)
