"""A WeCom server API on 127.0.0.1 for the tests, as documented: ``GET /cgi-bin/gettoken``,
``POST /cgi-bin/message/send`` and ``POST /cgi-bin/webhook/send``, each answering HTTP 200
with an ``errcode``. It checks what it is sent — the corp id and secret, that the access token
is one it issued and has not expired, the exact query, the Content-Type, the JSON body's
fields and for a ``template_card`` the text_notice structure (a ``card_action`` of type 1
with a URL, at most 6 facts, a title or a sub-title) — and keeps what it accepted.
``answers`` scripts the next message/send answers (``rate_limited``, ``busy``, ``bad_user``,
``expired``, ``unlicensed``: ok but the member has no licence, ``slow``: ok after
``delay``); ``expire_tokens()`` makes every token it issued expired.

For 企业微信登录 it is also the login page and the code exchange: ``GET /wwlogin/sso/login``
(login_type CorpApp, the corp id, the agent id) signs ``sign_in_as`` in at once and redirects
to ``redirect_uri`` with a one-time ``code`` and the ``state`` (only the state when
``sign_in_as`` is None: the person did not sign in); ``GET /cgi-bin/auth/getuserinfo`` turns
the code into ``{"userid"}`` when ``sign_in_as`` is a member (in ``members``), into
``{"openid", "external_userid"}`` otherwise, and a used or unknown code into errcode 40029.
``sign_in_delay`` holds back the getuserinfo answer (seconds); ``sign_in_requests`` keeps
every login-page and getuserinfo request."""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

# how WeCom's errmsg goes on after its short text
HINT = (
    ", hint: [1700000000123456789012345], from ip: 127.0.0.1, more info at "
    "https://open.work.weixin.qq.com/devtool/query?e={}"
)
SCRIPTED = {
    "rate_limited": {"errcode": 45009, "errmsg": "api freq out of limit" + HINT.format(45009)},
    "busy": {"errcode": -1, "errmsg": "system busy"},
    "bad_user": {
        "errcode": 81013,
        "errmsg": "user & party & tag all invalid" + HINT.format(81013),
    },
    "expired": {"errcode": 42001, "errmsg": "access_token expired" + HINT.format(42001)},
}
CARD_KEYS = {"card_type", "source", "main_title", "sub_title_text", "horizontal_content_list",
             "jump_list", "card_action", "emphasis_content", "quote_area", "task_id",
             "action_menu"}  # fmt: skip
MESSAGE_KEYS = {"touser", "toparty", "totag", "msgtype", "agentid", "safe", "enable_id_trans",
                "enable_duplicate_check", "duplicate_check_interval"}  # fmt: skip


@dataclass
class FakeWeCom:
    corp_id: str
    app_secret: str
    agent_id: int
    robot_key: str
    url: str = ""
    delay: float = 0.0  # seconds message/send waits before answering when scripted "slow"
    token_requests: int = 0
    tokens: set[str] = field(default_factory=set)
    answers: list[str] = field(default_factory=list)
    sends: list[dict[str, Any]] = field(default_factory=list)  # every message/send body
    accepted: list[dict[str, Any]] = field(default_factory=list)  # those answered errcode 0
    robot_posts: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    members: set[str] = field(default_factory=set)  # the firm's members' userids
    sign_in_as: str | None = None  # who the login page signs in (a userid or an openid)
    sign_in_delay: float = 0.0
    codes: dict[str, str] = field(default_factory=dict)  # code → who it was issued to
    sign_in_requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def handle(self, method: str, path: str, query: dict[str, str], headers: Any,
               body: bytes) -> Any:  # fmt: skip
        if method == "POST" and not str(headers.get("Content-Type", "")).startswith(
            "application/json"
        ):
            self.problems.append(f"{path}: Content-Type {headers.get('Content-Type')}")
            return {"errcode": 40035, "errmsg": "invalid parameter"}
        if path in ("/wwlogin/sso/login", "/cgi-bin/auth/getuserinfo"):
            with self.lock:
                self.sign_in_requests.append({"method": method, "path": path, "query": query})
            if path == "/cgi-bin/auth/getuserinfo" and self.sign_in_delay:
                time.sleep(self.sign_in_delay)
        with self.lock:
            if method == "GET" and path == "/wwlogin/sso/login":
                return self._login_page(query)
            if method == "GET" and path == "/cgi-bin/auth/getuserinfo":
                return self._user_of_code(query)
            if method == "GET" and path == "/cgi-bin/gettoken":
                return self._token(query)
            data = json.loads(body.decode()) if body else None
            if method == "POST" and path == "/cgi-bin/message/send":
                answer = self._send(query, data)
            elif method == "POST" and path == "/cgi-bin/webhook/send":
                return self._robot(query, data)
            else:
                return {"errcode": 404, "errmsg": "not found"}
        if answer == "slow":
            time.sleep(self.delay)
            return {"errcode": 0, "errmsg": "ok", "msgid": "late"}
        return answer

    def _token(self, query: dict[str, str]) -> Any:
        self.token_requests += 1
        if set(query) != {"corpid", "corpsecret"} or query["corpid"] != self.corp_id:
            return {"errcode": 40013, "errmsg": "invalid corpid" + HINT.format(40013)}
        if query["corpsecret"] != self.app_secret:
            return {"errcode": 40001, "errmsg": "invalid credential" + HINT.format(40001)}
        token = f"token-{self.token_requests}"
        self.tokens.add(token)
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}

    def _send(self, query: dict[str, str], data: Any) -> Any:
        if set(query) != {"access_token"}:
            return {"errcode": 41001, "errmsg": "access_token missing"}
        if query["access_token"] not in self.tokens:
            return SCRIPTED["expired"]
        self.sends.append(data)
        if problem := self._malformed(data):
            self.problems.append(f"{problem}: {data}")
            return {"errcode": 40058, "errmsg": f"invalid parameter: {problem}"}
        if self.answers:
            scripted = self.answers.pop(0)
            if scripted == "unlicensed":  # documented: the userids come back lower-cased
                return {
                    "errcode": 0,
                    "errmsg": "ok",
                    "invaliduser": "",
                    "unlicenseduser": data["touser"].lower(),
                    "msgid": "msgid-0",
                }
            return "slow" if scripted == "slow" else SCRIPTED[scripted]
        self.accepted.append(data)
        return {"errcode": 0, "errmsg": "ok", "invaliduser": "",
                "msgid": f"msgid-{len(self.accepted)}"}  # fmt: skip

    def _malformed(self, data: Any) -> str:
        if not isinstance(data, dict) or set(data) - MESSAGE_KEYS - {data.get("msgtype")}:
            return "unknown fields"
        if data.get("agentid") != self.agent_id or not data.get("touser"):
            return "agentid or touser"
        kind = data["msgtype"]
        if kind == "text":
            return "" if set(data["text"]) == {"content"} and data["text"]["content"] else "text"
        if kind != "template_card":
            return f"msgtype {kind}"
        card = data["template_card"]
        if set(card) - CARD_KEYS or card.get("card_type") != "text_notice":
            return "card fields"
        if not (card.get("main_title", {}).get("title") or card.get("sub_title_text")):
            return "a text_notice card needs main_title.title or sub_title_text"
        action = card.get("card_action") or {}
        if action.get("type") != 1 or not str(action.get("url", "")).startswith("http"):
            return "a text_notice card needs card_action type 1 with a url"
        facts = card.get("horizontal_content_list", [])
        if len(facts) > 6 or any(set(f) - {"keyname", "value"} or not f["keyname"]
                                 for f in facts):  # fmt: skip
            return "horizontal_content_list"
        jumps = card.get("jump_list", [])
        if len(jumps) > 3 or any(j.get("type") == 1 and not j.get("url") for j in jumps):
            return "jump_list"
        return ""

    # --- 企业微信登录 -----------------------------------------------------------------------

    def _login_page(self, query: dict[str, str]) -> Any:
        expected = {"login_type", "appid", "agentid", "redirect_uri", "state"}
        fixed = {"login_type": "CorpApp", "appid": self.corp_id, "agentid": str(self.agent_id)}
        if set(query) != expected or any(query[k] != v for k, v in fixed.items()):
            self.problems.append(f"malformed login request: {query}")
            return 400, "参数错误", {}
        if self.sign_in_as is None:  # the person closed the page: only the state comes back
            back = {"state": query["state"]}
        else:
            code = secrets.token_hex(16)
            self.codes[code] = self.sign_in_as
            back = {"code": code, "state": query["state"]}
        return 302, None, {"Location": f"{query['redirect_uri']}?{urlencode(back)}"}

    def _user_of_code(self, query: dict[str, str]) -> Any:
        if set(query) != {"access_token", "code"}:
            return {"errcode": 41001, "errmsg": "access_token missing"}
        if query["access_token"] not in self.tokens:
            return SCRIPTED["expired"]
        who = self.codes.pop(query["code"], None)  # a code is good once
        if who is None:
            return {"errcode": 40029, "errmsg": "invalid code" + HINT.format(40029)}
        if who in self.members:
            return {"errcode": 0, "errmsg": "ok", "userid": who}
        return {"errcode": 0, "errmsg": "ok", "openid": f"o-{who}",
                "external_userid": f"wm-{who}"}  # fmt: skip

    def _robot(self, query: dict[str, str], data: Any) -> Any:
        if set(query) != {"key"} or query["key"] != self.robot_key:
            return {"errcode": 93000, "errmsg": "invalid webhook url" + HINT.format(93000)}
        kind = data.get("msgtype") if isinstance(data, dict) else None
        if (
            kind not in ("text", "markdown")
            or set(data) != {"msgtype", kind}
            or not data[kind].get("content")
        ):
            self.problems.append(f"robot body: {data}")
            return {"errcode": 40008, "errmsg": "invalid message type"}
        self.robot_posts.append(data)
        return {"errcode": 0, "errmsg": "ok"}
