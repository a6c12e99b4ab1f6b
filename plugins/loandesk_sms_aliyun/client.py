"""One ``SendSms`` call to Alibaba Cloud SMS (阿里云短信, Dysmsapi 2017-05-25) through the
official SDK (``alibabacloud-dysmsapi20170525``), which builds and signs the request (signature
V3, ``ACS3-HMAC-SHA256``, keyed with the AccessKey Secret), and the answer read into a BizId or
one of the two errors the outbox understands.

Error codes, as documented at
https://help.aliyun.com/zh/sms/developer-reference/api-error-codes (短信服务 API 错误码) and
https://help.aliyun.com/zh/sms/developer-reference/api-dysmsapi-2017-05-25-sendsms :

- not this message's fault, tried again later (``AliyunSmsError``): rate limits
  (``isv.BUSINESS_LIMIT_CONTROL``, ``Throttling.*``), the account's balance
  (``isv.AMOUNT_NOT_ENOUGH``, ``isv.OUT_OF_SERVICE``: money topped up, the message goes out
  within the outbox's retries), settings to fix (``InvalidAccessKeyId.*``,
  ``SignatureDoesNotMatch``, ``isv.SMS_SIGNATURE_ILLEGAL``, ``isv.SMS_TEMPLATE_ILLEGAL``,
  ``isv.TEMPLATE_MISSING_PARAMETERS``, ``isv.ACCOUNT_ABNORMAL``...), no answer, a 5xx, any
  code not listed below;
- this message can never go out (``sdk.Undeliverable``, failed at once): the number
  (``isv.MOBILE_NUMBER_ILLEGAL``, ``isv.MOBILE_COUNT_OVER_LIMIT``) or the text
  (``isv.BLACK_KEY_CONTROL_LIMIT``: a blocked word, ``isv.PARAM_LENGTH_LIMIT``: too long).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import utils_models as open_api_models
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from darabonba.runtime import RuntimeOptions

from loandesk import sdk

UNDELIVERABLE = frozenset(
    {
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.MOBILE_COUNT_OVER_LIMIT",
        "isv.BLACK_KEY_CONTROL_LIMIT",
        "isv.PARAM_LENGTH_LIMIT",
    }
)


class AliyunSmsError(Exception):
    """Alibaba Cloud did not take the message (no answer, a refusal to try again, settings to
    fix); the outbox tries again later. The text never holds the AccessKey Secret."""


@dataclass(frozen=True)
class Account:
    access_key_id: str
    access_key_secret: str
    endpoint: str
    timeout: int
    protocol: str = "HTTPS"


TEMPLATE_STATES = {0: "under review", 1: "approved", 2: "rejected"}


def query_template(account: Account, template_code: str) -> str:
    """The connector's test: ``QuerySmsTemplate`` for the tenant's template (signed like a
    send, sends nothing); its review state. ``AliyunSmsError`` unless it is approved."""
    request = sms_models.QuerySmsTemplateRequest(template_code=template_code)
    try:
        answer = _client(account).query_sms_template_with_options(request, _runtime(account))
    except AlibabaCloudException as problem:
        data = problem.data if isinstance(problem.data, dict) else {}
        raise AliyunSmsError(
            str(_error(str(problem.code or ""), str(data.get("Message") or ""), account))
        ) from None
    except Exception:
        raise AliyunSmsError(
            f"no answer from Alibaba Cloud SMS within {account.timeout} s"
        ) from None
    body = answer.body
    code = str(body.code or "") if body is not None else ""
    if code != "OK" or body is None:
        message = str(body.message or "") if body is not None else ""
        raise AliyunSmsError(str(_error(code or "no code", message, account)))
    status = body.template_status
    state = TEMPLATE_STATES.get(status, str(status)) if status is not None else "unknown"
    if status != 1:
        raise AliyunSmsError(f"template {template_code} is {state}")
    return f"template {template_code} is {state}"


def _client(account: Account) -> Client:
    config = open_api_models.Config(
        access_key_id=account.access_key_id,
        access_key_secret=account.access_key_secret,
        endpoint=account.endpoint,
        protocol=account.protocol,
        connect_timeout=account.timeout * 1000,
        read_timeout=account.timeout * 1000,
    )
    return Client(config)


def _runtime(account: Account) -> RuntimeOptions:
    return RuntimeOptions(
        autoretry=False,  # the outbox retries, with backoff, and counts the attempts
        connect_timeout=account.timeout * 1000,
        read_timeout=account.timeout * 1000,
    )


def send_sms(
    account: Account,
    *,
    mobile: str,
    sign_name: str,
    template_code: str,
    template_param: dict[str, str],
    out_id: str,
) -> str:
    """Send one message; its BizId. ``AliyunSmsError`` or ``sdk.Undeliverable`` otherwise."""
    request = sms_models.SendSmsRequest(
        phone_numbers=mobile,
        sign_name=sign_name,
        template_code=template_code,
        template_param=json.dumps(template_param, ensure_ascii=False),
        out_id=out_id,
    )
    try:
        answer = _client(account).send_sms_with_options(request, _runtime(account))
    except AlibabaCloudException as problem:  # a 4xx/5xx with the documented error JSON
        data = problem.data if isinstance(problem.data, dict) else {}
        raise _error(str(problem.code or ""), str(data.get("Message") or ""), account) from None
    except Exception:  # no answer (the SDK wraps every one alike); its text names the URL
        raise AliyunSmsError(
            f"no answer from Alibaba Cloud SMS within {account.timeout} s"
        ) from None
    body = answer.body
    code = str(body.code or "") if body is not None else ""
    if code == "OK" and body is not None:
        return str(body.biz_id or "")
    message = str(body.message or "") if body is not None else ""
    raise _error(code or "no code", message, account)


def _error(code: str, message: str, account: Account) -> Exception:
    text = " ".join(f"{code}: {message}".split())[:300].replace(account.access_key_secret, "***")
    if code in UNDELIVERABLE:
        return sdk.Undeliverable(text)
    return AliyunSmsError(text)
