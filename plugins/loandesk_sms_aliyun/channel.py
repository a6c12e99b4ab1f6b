"""The ``sms`` channel through Alibaba Cloud SMS: one message to one borrower's mobile, within
the daily limit per mobile number, and the nightly job that forgets old counts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma

from loandesk import sdk
from loandesk_sms_aliyun import client, quota
from loandesk_sms_aliyun.settings import AliyunSmsSettings

NAME = "sms_aliyun"


def send(message: sdk.OutgoingMessage) -> str:
    """Count the message against its mobile's daily limit, then send it with ``SendSms``; the
    BizId. The text goes into the tenant's template as its one variable; the message key is
    the ``OutId`` (it comes back in delivery receipts). Error texts never hold a whole mobile
    number (the outbox stores them) nor the AccessKey Secret."""
    settings = _settings()
    day = _local_day(sdk.utcnow())
    if not _counted(message, day, settings["daily_limit"]):
        raise sdk.Undeliverable(
            sdk.scrub_personal(
                f"daily limit of {settings['daily_limit']} messages to {message.address} "
                f"reached on {day.isoformat()}"
            )
        )
    try:
        return client.send_sms(
            _account(settings),
            mobile=message.address,
            sign_name=settings["sign_name"],
            template_code=settings["template_code"],
            template_param={settings["template_param"]: message.body},
            out_id=message.key,
        )
    except sdk.Undeliverable as problem:  # the answer may name the mobile number
        raise sdk.Undeliverable(sdk.scrub_personal(str(problem))) from None
    except client.AliyunSmsError as problem:
        raise client.AliyunSmsError(sdk.scrub_personal(str(problem))) from None


def test(session: object) -> str:
    """The connector's test: the tenant's template queried (``QuerySmsTemplate``)."""
    settings = _settings()
    return client.query_template(_account(settings), settings["template_code"])


def _account(settings: dict[str, Any]) -> client.Account:
    endpoint = settings["endpoint"]
    # tests (and only tests) reach a local server over plain HTTP
    local = endpoint.split(":")[0] in {"127.0.0.1", "localhost"}
    return client.Account(
        access_key_id=settings["access_key_id"],
        access_key_secret=settings["access_key_secret"],
        endpoint=endpoint,
        timeout=settings["timeout_seconds"],
        protocol="HTTP" if local else "HTTPS",
    )


def _settings() -> dict[str, Any]:
    try:
        return dict(AliyunSmsSettings().load(sdk.plugin_settings(NAME)))
    except ma.ValidationError as problem:
        raise client.AliyunSmsError(
            f"the Alibaba Cloud SMS settings are incomplete: {', '.join(sorted(problem.messages))}"
        ) from None


def _local_day(moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(sdk.current().timezone)).date()


def _counted(message: sdk.OutgoingMessage, day: date, limit: int) -> bool:
    mobile_hash = sdk.keyring().search_hash("mobile", message.address)
    assert mobile_hash is not None  # the outbox encrypted the address: there is a data key
    # committed before the request goes out, apart from the outbox's transaction
    with sdk.transaction() as session:
        return quota.count(
            session, message_key=message.key, mobile_hash=mobile_hash, day=day, limit=limit
        )


def forget_old_counts(ctx: sdk.JobContext) -> None:
    """Delete the counts of days before yesterday (tenant time): a message's retries are over
    within two hours, so yesterday's are the oldest still needed."""
    quota.forget_before(ctx.session, _local_day(sdk.utcnow()) - timedelta(days=1))
