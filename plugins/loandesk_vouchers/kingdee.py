"""A client of the Kingdee Cloud 星空 (K/3 Cloud) WebAPI, written against its documentation
(no well-kept official Python SDK):

- sign in: ``POST {base}Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc``
  with ``{"acctID", "username", "password", "lcid"}``; ``LoginResultType`` 1 is success, and
  the session is the ``kdservice-sessionid`` cookie the answer sets (kept by the HTTP
  session for the calls that follow);
- save: ``POST {base}Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc``
  with ``{"formid": "GL_VOUCHER", "data": {"Model": {...}}}``; the answer is
  ``{"Result": {"ResponseStatus": {"IsSuccess", "ErrorCode", "MsgCode", "Errors":
  [{"FieldName", "Message", "DIndex"}], "SuccessEntitys": [{"Id", "Number", "DIndex"}]},
  "Id", "Number"}}``. ``MsgCode`` 1 means the session was lost (会话信息已丢失): sign in
  again and save once more;
- look up: ``POST {base}Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.
  common.kdsvc`` with ``{"data": {"FormId", "FieldKeys", "FilterString", "OrderString",
  "TopRowCount", "StartRow", "Limit"}}``; the answer is the rows as arrays of the field values
  (``[[100001, "JZ0001"]]``), or on failure ``[[{"Result": {"ResponseStatus": {...}}}]]``.
  Save takes no idempotency key, so a voucher whose earlier save got no answer is looked up
  by its account book, date, word and number before it is saved again.

The password never leaves this module except in the sign-in body; errors keep Kingdee's
messages only (scrubbed of it), never a URL or a request."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests

LOGIN = "Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc"
SAVE = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc"
QUERY = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc"
FORM_ID = "GL_VOUCHER"
SESSION_LOST = 1  # ResponseStatus.MsgCode: the context (session) is gone, sign in again


class KingdeeError(Exception):
    """Kingdee refused (a voucher it will not take as it is): trying again cannot help."""


class KingdeeUnavailable(Exception):
    """Kingdee did not answer in time or answered with a server error: try again later."""


@dataclass(frozen=True)
class Config:
    base_url: str
    acct_id: str
    username: str
    password: str
    lcid: int
    timeout: int

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Config:
        needed = (
            "kingdee_base_url",
            "kingdee_acct_id",
            "kingdee_username",
            "kingdee_password",
            "kingdee_account_book",
        )
        missing = [key for key in needed if not settings.get(key)]
        if missing:
            raise KingdeeError("Kingdee is not set up: " + ", ".join(missing))
        base = str(settings["kingdee_base_url"])
        return cls(
            base if base.endswith("/") else base + "/",
            str(settings["kingdee_acct_id"]),
            str(settings["kingdee_username"]),
            str(settings["kingdee_password"]),
            int(settings.get("kingdee_lcid") or 2052),
            int(settings.get("timeout_seconds") or 15),
        )


@dataclass(frozen=True)
class Saved:
    id: str
    number: str


class Client:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.http = requests.Session()
        self.signed_in = False

    def _scrub(self, text: str) -> str:
        return text.replace(self.config.password, "***") if self.config.password else text

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            answer = self.http.post(
                self.config.base_url + path,
                data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=self.config.timeout,
            )
        except requests.Timeout:
            raise KingdeeUnavailable("Kingdee did not answer in time") from None
        except requests.RequestException as problem:  # its text names the URL: leave it out
            raise KingdeeUnavailable(
                f"Kingdee could not be reached ({type(problem).__name__})"
            ) from None
        if answer.status_code >= 500:
            raise KingdeeUnavailable(f"Kingdee answered HTTP {answer.status_code}")
        if answer.status_code != 200:
            raise KingdeeError(f"Kingdee answered HTTP {answer.status_code}")
        try:
            return answer.json()
        except ValueError:
            raise KingdeeUnavailable("Kingdee answered something that is not JSON") from None

    def login(self) -> None:
        found = self._post(
            LOGIN,
            {
                "acctID": self.config.acct_id,
                "username": self.config.username,
                "password": self.config.password,
                "lcid": self.config.lcid,
            },
        )
        if not isinstance(found, dict) or found.get("LoginResultType") != 1:
            message = found.get("Message") if isinstance(found, dict) else None
            raise KingdeeError(
                self._scrub(f"Kingdee refused the sign-in: {message or 'no reason'}")
            )
        self.signed_in = True

    def save_voucher(self, model: dict[str, Any]) -> Saved:
        """Save one ``GL_VOUCHER``; signs in first, and again once when the session is lost."""
        if not self.signed_in:
            self.login()
        for attempt in (1, 2):
            found = self._post(SAVE, {"formid": FORM_ID, "data": {"Model": model}})
            result = found.get("Result") if isinstance(found, dict) else None
            result = result if isinstance(result, dict) else {}
            status = result.get("ResponseStatus")
            if not isinstance(status, dict):
                raise KingdeeUnavailable("Kingdee's answer has no ResponseStatus")
            if status.get("IsSuccess") is True:
                entities = status.get("SuccessEntitys") or [{}]
                return Saved(
                    str(result.get("Id") or entities[0].get("Id") or ""),
                    str(result.get("Number") or entities[0].get("Number") or ""),
                )
            if status.get("MsgCode") == SESSION_LOST and attempt == 1:
                self.login()
                continue
            errors = status.get("Errors") or []
            text = (
                "; ".join(
                    f"{e.get('FieldName') or '-'}: {e.get('Message') or ''}".strip()
                    for e in errors
                    if isinstance(e, dict)
                )
                or f"ErrorCode {status.get('ErrorCode')}"
            )
            raise KingdeeError(self._scrub(f"Kingdee refused the voucher: {text}")[:900])
        raise KingdeeError("Kingdee lost the session twice")

    def find_voucher(self, model: dict[str, Any]) -> Saved | None:
        """The voucher Kingdee already holds with ``model``'s account book, date, voucher word
        and number (an earlier save that landed though its answer was lost), or None."""
        if not self.signed_in:
            self.login()
        keys = (
            ("FAccountBookID.FNumber", model["FAccountBookID"]["FNumber"]),
            ("FDate", model["FDate"]),
            ("FVOUCHERGROUPID.FNumber", model["FVOUCHERGROUPID"]["FNumber"]),
            ("FVOUCHERGROUPNO", model["FVOUCHERGROUPNO"]),
        )
        query = {
            "FormId": FORM_ID,
            "FieldKeys": "FVOUCHERID,FBillNo",
            "FilterString": " and ".join(f"{k}='{_quoted(v)}'" for k, v in keys),
            "OrderString": "",
            "TopRowCount": 0,
            "StartRow": 0,
            "Limit": 2,
        }
        for attempt in (1, 2):
            found = self._post(QUERY, {"data": query})
            if isinstance(found, list) and all(
                isinstance(row, list) and len(row) >= 2 and not isinstance(row[0], dict)
                for row in found
            ):
                return Saved(str(found[0][0]), str(found[0][1])) if found else None
            status = _query_status(found)
            if status.get("MsgCode") == SESSION_LOST and attempt == 1:
                self.login()
                continue
            # not knowing whether Kingdee holds it, saving again could post it twice
            raise KingdeeUnavailable("Kingdee could not say whether it already holds the voucher")
        raise KingdeeUnavailable("Kingdee lost the session twice")


def _quoted(value: Any) -> str:
    return str(value).replace("'", "''")


def _query_status(found: Any) -> dict[str, Any]:
    """The ``ResponseStatus`` of a failed ExecuteBillQuery (``[[{"Result": {...}}]]``)."""
    try:
        status = found[0][0]["Result"]["ResponseStatus"]
    except (IndexError, KeyError, TypeError):
        return {}
    return status if isinstance(status, dict) else {}


def amount(value: Decimal) -> str:
    return f"{value:.2f}"


def voucher_model(voucher: Any, lines: list[Any], settings: dict[str, Any]) -> dict[str, Any]:
    """The ``GL_VOUCHER`` model of one voucher: base data by their codes (``FNumber``), amounts
    in yuan as decimal text, the auxiliary dimension under ``FDetailID``."""
    dimension = {
        "customer": str(settings.get("kingdee_customer_dimension") or "FFLEX6"),
        "product": str(settings.get("kingdee_product_dimension") or "FFLEX8"),
    }
    entries = []
    for line in lines:
        entry: dict[str, Any] = {
            "FEXPLANATION": line.summary,
            "FACCOUNTID": {"FNumber": line.subject_code},
            "FDEBIT": amount(line.debit),
            "FCREDIT": amount(line.credit),
        }
        if line.aux in dimension and line.aux_code:
            entry["FDetailID"] = {dimension[line.aux]: {"FNumber": line.aux_code}}
        entries.append(entry)
    return {
        "FAccountBookID": {"FNumber": str(settings.get("kingdee_account_book") or "")},
        "FDate": voucher.day.isoformat(),
        "FVOUCHERGROUPID": {"FNumber": str(settings.get("kingdee_voucher_group") or "PRE001")},
        "FVOUCHERGROUPNO": str(voucher.number),
        "FEntity": entries,
    }
