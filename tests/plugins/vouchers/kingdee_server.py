"""A Kingdee Cloud 星空 WebAPI on 127.0.0.1 for the tests, as documented: sign-in
(``AuthService.ValidateUser``: ``acctID``, ``username``, ``password``, ``lcid``; answers
``LoginResultType`` 1 and sets the ``kdservice-sessionid`` cookie) and ``DynamicFormService.Save``
(``{"formid": "GL_VOUCHER", "data": {"Model": ...}}`` with that cookie; answers
``{"Result": {"ResponseStatus": {...}, "Id", "Number"}}``). It checks the path, the JSON
content type, the body's fields, that the voucher balances and names a known account book,
voucher word and accounts, and that the session is one it issued and has not expired
(``MsgCode`` 1 otherwise). ``scripts`` queues behaviours for the next saves: ``slow`` (answer
after ``delay`` seconds), ``expire`` (the session is lost first), ``error500``."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOGIN = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc"
SAVE = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc"
QUERY = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc"
FILTER = re.compile(
    r"^FAccountBookID\.FNumber='([^']*)' and FDate='([^']*)' and "
    r"FVOUCHERGROUPID\.FNumber='([^']*)' and FVOUCHERGROUPNO='([^']*)'$"
)
COOKIE = "kdservice-sessionid"


@dataclass
class FakeKingdee:
    acct_id: str
    username: str
    password: str
    book: str
    group: str
    accounts: set[str]
    url: str = ""
    logins: int = 0
    sessions: set[str] = field(default_factory=set)
    saved: list[dict[str, Any]] = field(default_factory=list)  # models it accepted
    keys: list[tuple[int, str]] = field(default_factory=list)  # the saved ones' Id and Number
    queries: int = 0
    query_fails: bool = False  # ExecuteBillQuery answers a failure
    refused: list[dict[str, Any]] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    delay: float = 0.0
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_id: int = 100001

    def handle(self, path: str, headers: Any, body: bytes) -> tuple[int, Any, dict[str, str]]:
        if not headers.get("Content-Type", "").startswith("application/json"):
            self.problems.append(f"content type {headers.get('Content-Type')!r}")
            return 400, {"Message": "bad content type"}, {}
        data = json.loads(body.decode("utf-8"))
        if path == LOGIN:
            return self._login(data)
        if path == QUERY:
            return self._query(data, self._cookie(headers))
        if path == SAVE:
            script = None
            with self.lock:
                if self.scripts:
                    script = self.scripts.pop(0)
            if script == "slow":
                time.sleep(self.delay)
            if script == "error500":
                return 500, {"Message": "服务器内部错误"}, {}
            if script == "expire":
                with self.lock:
                    self.sessions.clear()
            return self._save(data, self._cookie(headers))
        self.problems.append(f"unknown path {path}")
        return 404, {}, {}

    @staticmethod
    def _cookie(headers: Any) -> str | None:
        for part in (headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                return value
        return None

    def _login(self, data: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if set(data) != {"acctID", "username", "password", "lcid"}:
            self.problems.append(f"login fields {sorted(data)}")
        ok = (data.get("acctID"), data.get("username"), data.get("password"), data.get("lcid")) == (
            self.acct_id,
            self.username,
            self.password,
            2052,
        )
        with self.lock:
            self.logins += 1
            if not ok:
                # a careless server echoing what it was sent: the client must scrub it
                message = f"用户名或密码错误：{data.get('password')}"
                return 200, {"LoginResultType": 0, "Message": message}, {}
            session = secrets.token_hex(8)
            self.sessions.add(session)
        answer = {
            "LoginResultType": 1,
            "Message": None,
            "KDSVCSessionId": session,
            "Context": {"UserName": self.username, "DBid": self.acct_id},
        }
        return 200, answer, {"Set-Cookie": f"{COOKIE}={session}; Path=/"}

    def _status(self, ok: bool, errors: list[dict[str, Any]], msg_code: int = 0) -> dict[str, Any]:
        return {
            "ErrorCode": 0 if ok else 500,
            "IsSuccess": ok,
            "Errors": errors,
            "SuccessEntitys": [],
            "SuccessMessages": [],
            "MsgCode": msg_code,
        }

    def _save(self, data: dict[str, Any], session: str | None) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            if session is None or session not in self.sessions:
                status = self._status(
                    False,
                    [{"FieldName": None, "Message": "会话信息已丢失，请重新登录", "DIndex": 0}],
                    1,
                )
                return 200, {"Result": {"ResponseStatus": status}}, {}
        if set(data) != {"formid", "data"} or data["formid"] != "GL_VOUCHER":
            self.problems.append(f"save body {sorted(data)}")
        model = data["data"]["Model"]
        errors = []
        if model.get("FAccountBookID") != {"FNumber": self.book}:
            errors.append({"FieldName": "FAccountBookID", "Message": "账簿不存在", "DIndex": 0})
        if model.get("FVOUCHERGROUPID") != {"FNumber": self.group}:
            errors.append({"FieldName": "FVOUCHERGROUPID", "Message": "凭证字不存在", "DIndex": 0})
        debit = credit = Decimal(0)
        for row, entry in enumerate(model.get("FEntity", [])):
            code = entry["FACCOUNTID"]["FNumber"]
            if code not in self.accounts:
                errors.append(
                    {
                        "FieldName": "FACCOUNTID",
                        "Message": f"第{row + 1}行科目{code}不存在",
                        "DIndex": 0,
                    }
                )
            debit += Decimal(entry["FDEBIT"])
            credit += Decimal(entry["FCREDIT"])
        if debit != credit:
            errors.append({"FieldName": None, "Message": "借贷不平衡", "DIndex": 0})
        with self.lock:
            if errors:
                self.refused.append(model)
                return 200, {"Result": {"ResponseStatus": self._status(False, errors)}}, {}
            self.saved.append(model)
            voucher_id, self.next_id = self.next_id, self.next_id + 1
            number = f"JZ{len(self.saved):04d}"
            self.keys.append((voucher_id, number))
        status = self._status(True, [])
        status["SuccessEntitys"] = [{"Id": voucher_id, "Number": number, "DIndex": 0}]
        return (
            200,
            {
                "Result": {
                    "ResponseStatus": status,
                    "Id": voucher_id,
                    "Number": number,
                    "NeedReturnData": [{}],
                }
            },
            {},
        )

    def _query(self, data: dict[str, Any], session: str | None) -> tuple[int, Any, dict[str, str]]:
        """ExecuteBillQuery of GL_VOUCHER by account book, date, word and number: the rows as
        arrays (``FVOUCHERID``, ``FBillNo``), or the failure wrapped as Kingdee does."""
        with self.lock:
            self.queries += 1
            if session is None or session not in self.sessions:
                lost = [{"FieldName": None, "Message": "会话信息已丢失，请重新登录", "DIndex": 0}]
                return 200, [[{"Result": {"ResponseStatus": self._status(False, lost, 1)}}]], {}
            if self.query_fails:
                failed = [{"FieldName": None, "Message": "查询失败", "DIndex": 0}]
                return 200, [[{"Result": {"ResponseStatus": self._status(False, failed)}}]], {}
            query = data.get("data") or {}
            wanted = FILTER.match(str(query.get("FilterString", "")))
            if (
                set(data) != {"data"}
                or query.get("FormId") != "GL_VOUCHER"
                or query.get("FieldKeys") != "FVOUCHERID,FBillNo"
                or wanted is None
            ):
                self.problems.append(f"query {data!r}")
                return 200, [[{"Result": {"ResponseStatus": self._status(False, [])}}]], {}
            book, day, group, number = wanted.groups()
            rows = [
                [voucher_id, kingdee_number]
                for model, (voucher_id, kingdee_number) in zip(self.saved, self.keys, strict=True)
                if (model["FAccountBookID"]["FNumber"], model["FDate"]) == (book, day)
                and (model["FVOUCHERGROUPID"]["FNumber"], model["FVOUCHERGROUPNO"])
                == (group, number)
            ]
        return 200, rows, {}


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        fake: FakeKingdee = self.server.fake  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            status, answer, headers = fake.handle(self.path, self.headers, body)
        except Exception as problem:  # a bug in the test server: say so
            fake.problems.append(repr(problem))
            status, answer, headers = 500, {"Message": "test server error"}, {}
        payload = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
            pass

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def running(fake: FakeKingdee) -> Iterator[FakeKingdee]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.fake = fake  # type: ignore[attr-defined]
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/k3cloud/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
