"""The ``sms`` channel: one message to one borrower's mobile through Tencent Cloud SMS
(``SendSms``, API version 2021-01-11, with the official SDK, which builds and signs the
request); the core's outbox keeps the daily limit per mobile number, read from
``daily_limit``.

Error codes, as documented at https://cloud.tencent.com/document/api/382/55981 (SendSms) and
https://cloud.tencent.com/document/product/382/59176 (SMS error codes): the same codes come as
the request's ``Error.Code`` or as one number's ``SendStatusSet[].Code`` (``Ok`` when sent)."""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
from tencentcloud.common import credential
from tencentcloud.common.abstract_client import LOGGER_NAME
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from loandesk import sdk
from loandesk_sms_tencent.settings import TencentSettings

NAME = "sms_tencent"

# the SDK's debug lines print whole requests and answers (the mobile number and the text): off
logging.getLogger(LOGGER_NAME).setLevel(logging.INFO)

# trying again cannot help: the number is wrong, blacklisted (the borrower unsubscribed) or
# mixes mainland and international numbers
UNDELIVERABLE = frozenset(
    {
        "InvalidParameterValue.IncorrectPhoneNumber",
        "FailedOperation.PhoneNumberInBlacklist",
        "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
        # the text is longer than the template's variable may be: it will not get shorter
        "InvalidParameterValue.TemplateParameterLengthLimit",
    }
)
# tried again later: a frequency limit (LimitExceeded.PhoneNumberDailyLimit,
# LimitExceeded.PhoneNumberThirtySecondLimit, RequestLimitExceeded), wrong credentials
# (AuthFailure.SignatureFailure, AuthFailure.SecretIdNotFound: the admin fixes the settings),
# the network, and any code not listed above


class TencentSmsError(Exception):
    """Tencent Cloud did not take the message (no answer, a limit, wrong credentials, a
    refusal); the outbox tries again later."""


def send(message: sdk.OutgoingMessage) -> str:
    """Send the message; Tencent's SerialNo. ``Undeliverable`` for a number refused for good,
    ``TencentSmsError`` (tried again) otherwise. Error texts never hold a whole mobile number
    nor the SecretKey."""
    settings = _settings()
    request = models.SendSmsRequest()
    request.PhoneNumberSet = [phone_number(message.address)]
    request.SmsSdkAppId = settings["sms_sdk_app_id"]
    request.SignName = settings["sign_name"]
    if message.template is not None:  # its params in the order of its placeholders
        request.TemplateId = message.template.code
        request.TemplateParamSet = [value for _name, value in message.template.params]
    else:  # free text: the settings' template is one variable, {1}
        request.TemplateId = settings["template_id"]
        request.TemplateParamSet = [message.body]
    request.SessionContext = message.key
    try:
        answer = _client(settings).SendSms(request)
    except TencentCloudSDKException as problem:
        code, text = problem.get_code() or "", problem.get_message() or ""
        if code == "ClientNetworkError":  # its text is the HTTP library's, naming the URL
            timed_out = "timed out" in text.lower()
            text = (
                f"no answer within {settings['timeout_seconds']} s"
                if timed_out
                else "Tencent Cloud cannot be reached"
            )
        raise _error(code, text, settings) from None
    statuses = answer.SendStatusSet or []
    if not statuses:
        raise TencentSmsError("the answer has no SendStatusSet")
    status = statuses[0]
    if status.Code != "Ok":
        raise _error(status.Code or "", status.Message or "", settings)
    return str(status.SerialNo or "")


TEMPLATE_STATES = {0: "approved", 1: "under review", -1: "rejected"}


def test(session: object) -> str:
    """The connector's test: ``DescribeSmsTemplateList`` for the tenant's template (signed
    like a send, sends nothing); its review state. Raises unless it is approved."""
    settings = _settings()
    request = models.DescribeSmsTemplateListRequest()
    request.International = 0
    request.TemplateIdSet = [int(settings["template_id"])]
    try:
        answer = _client(settings).DescribeSmsTemplateList(request)
    except TencentCloudSDKException as problem:
        code, text = problem.get_code() or "", problem.get_message() or ""
        if code == "ClientNetworkError":
            text = "Tencent Cloud cannot be reached"
        raise TencentSmsError(_clean(f"{code}: {text}", settings)) from None
    found = answer.DescribeTemplateStatusSet or []
    if not found:
        raise TencentSmsError(f"template {settings['template_id']} not found")
    state = TEMPLATE_STATES.get(found[0].StatusCode, str(found[0].StatusCode))
    if found[0].StatusCode != 0:
        raise TencentSmsError(f"template {settings['template_id']} is {state}")
    return f"template {settings['template_id']} is {state}"


def phone_number(address: str) -> str:
    """E.164 as Tencent wants it: a mainland number gets ``+86``."""
    digits = address.replace(" ", "").replace("-", "")
    return digits if digits.startswith("+") else f"+86{digits}"


def _client(settings: dict[str, Any]) -> sms_client.SmsClient:
    endpoint = settings["endpoint"]
    # plain http only to this machine (the tests' server); Tencent itself over https
    protocol = "http" if _local(endpoint) else "https"
    http = HttpProfile(protocol=protocol, endpoint=endpoint, reqTimeout=settings["timeout_seconds"])
    profile = ClientProfile(signMethod="TC3-HMAC-SHA256", httpProfile=http)
    cred = credential.Credential(settings["secret_id"], settings["secret_key"])
    return sms_client.SmsClient(cred, settings["region"], profile)


def _local(endpoint: str) -> bool:
    return endpoint.split(":")[0] in {"127.0.0.1", "localhost"}


def _error(code: str, text: str, settings: dict[str, Any]) -> Exception:
    said = _clean(f"{code}: {text}" if text else code, settings)
    if code in UNDELIVERABLE:
        return sdk.Undeliverable(said)
    return TencentSmsError(said)


def _clean(text: str, settings: dict[str, Any]) -> str:
    """Masked mobile numbers, never the SecretKey, at most 300 characters."""
    text = " ".join(text.replace(settings["secret_key"], "***").split())
    return sdk.scrub_personal(text)[:300]


def _settings() -> dict[str, Any]:
    try:
        return dict(TencentSettings().load(sdk.plugin_settings(NAME)))
    except ma.ValidationError as problem:
        raise TencentSmsError(
            f"the Tencent Cloud SMS settings are incomplete: {', '.join(sorted(problem.messages))}"
        ) from None


def daily_limit() -> int:
    """The tenant's daily limit per mobile number (the core's outbox counts)."""
    return int(_settings()["daily_limit"])
