"""Delivery receipts (回执) from Tencent Cloud SMS: its status callback (短信下发状态通知),
documented at https://www.tencentcloud.com/document/product/382/43547 : a ``POST`` of a JSON
array, each item ``user_receive_time`` (Beijing time, ``YYYY-MM-DD HH:MM:SS``),
``nationcode``, ``mobile``, ``report_status`` (``SUCCESS`` or ``FAIL``), ``errmsg``
(``DELIVRD`` when delivered), ``description`` and ``sid`` (the SerialNo ``SendSms``
answered); answered ``{"result": 0, "errmsg": "OK"}``. Tencent does not sign the callback, so
the URL carries the tenant's ``receipt_token``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from loandesk import sdk

NAME = "sms_tencent"

ANSWERS = {
    200: {"result": 0, "errmsg": "OK"},
    403: {"result": 403, "errmsg": "forbidden"},
    400: {"result": 400, "errmsg": "bad request"},
}

bp = Blueprint(NAME, __name__, url_prefix="/sms-tencent")


def record(session: Any, reports: Any) -> int:
    """Record each status of the array; how many matched a message. ``ValueError`` for a body
    that is not the documented array."""
    if not isinstance(reports, list) or not all(isinstance(r, dict) for r in reports):
        raise ValueError("not a JSON array of statuses")
    found = 0
    for report in reports:
        status = report.get("report_status")
        if status not in ("SUCCESS", "FAIL") or not report.get("sid"):
            raise ValueError("a status without report_status or sid")
        detail = f"{report.get('errmsg') or ''}: {report.get('description') or ''}".strip(": ")
        found += sdk.record_delivery_receipt(
            session, "sms", str(report["sid"]), status == "SUCCESS",
            sdk.receipt_time(report.get("user_receive_time")), detail,
        ) is not None  # fmt: skip
    return found


@bp.post("/receipts/<token>", endpoint="receipts")
@sdk.csrf_exempt
def receipts(token: str) -> Any:
    """Tencent Cloud's status callback; 403 for a wrong token (audited), 400 for a body that
    is not its array of statuses (audited too)."""
    expected = sdk.plugin_settings(NAME).get("receipt_token")
    status = sdk.receive_delivery_receipts(NAME, token, expected, record)
    return ANSWERS[status], status
