"""Delivery receipts (回执) from Alibaba Cloud SMS: its HTTP batch push of ``SmsReport``
(短信发送状态报告, HTTP 批量推送模式), documented at
https://help.aliyun.com/zh/sms/developer-reference/smsreport-2 : a ``POST`` of a JSON array,
each item ``phone_number``, ``send_time``, ``report_time`` (Beijing time,
``YYYY-MM-DD HH:MM:SS``), ``success``, ``err_code`` (``DELIVERED`` when delivered),
``err_msg``, ``sms_size``, ``biz_id`` (the BizId ``SendSms`` answered) and ``out_id`` (our
message key); answered ``{"code": 0, "msg": "成功"}``. Alibaba does not sign the push, so the
URL carries the tenant's ``receipt_token``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from loandesk import sdk

NAME = "sms_aliyun"

ANSWERS = {
    200: {"code": 0, "msg": "成功"},
    403: {"code": 403, "msg": "forbidden"},
    400: {"code": 400, "msg": "bad request"},
}

bp = Blueprint(NAME, __name__, url_prefix="/sms-aliyun")


def record(session: Any, reports: Any) -> int:
    """Record each report of the array; how many matched a message. ``ValueError`` for a body
    that is not the documented array."""
    if not isinstance(reports, list) or not all(isinstance(r, dict) for r in reports):
        raise ValueError("not a JSON array of reports")
    found = 0
    for report in reports:
        if not isinstance(report.get("success"), bool) or not report.get("biz_id"):
            raise ValueError("a report without success or biz_id")
        detail = f"{report.get('err_code') or ''}: {report.get('err_msg') or ''}".strip(": ")
        found += sdk.record_delivery_receipt(
            session, "sms", str(report["biz_id"]), report["success"],
            sdk.receipt_time(report.get("report_time")), detail,
        ) is not None  # fmt: skip
    return found


@bp.post("/receipts/<token>", endpoint="receipts")
@sdk.csrf_exempt
def receipts(token: str) -> Any:
    """Alibaba Cloud's push of delivery receipts; 403 for a wrong token (audited), 400 for a
    body that is not its array of reports (audited too)."""
    expected = sdk.plugin_settings(NAME).get("receipt_token")
    status = sdk.receive_delivery_receipts(NAME, token, expected, record)
    return ANSWERS[status], status
