"""The ``dingtalk.work`` channel: a message to a staff member as a DingTalk work notification
(工作通知) from the tenant's app, an action card linking back to the record in LoanDesk when
the message names one. The access token is kept per tenant and app until shortly before it
expires; a token DingTalk refuses is fetched again once."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask_babel import gettext

from loandesk import sdk
from loandesk_dingtalk import openapi, staff
from loandesk_dingtalk.settings import DingTalkSettings

NAME = "dingtalk"
_tokens = sdk.TokenCache()  # per tenant and app, fetched again 5 minutes before it expires


def send(message: sdk.OutgoingMessage) -> str:
    """Send the message to the staff member's DingTalk userid; DingTalk's task id.
    ``Undeliverable`` when the staff member has no userid or DingTalk refuses for good,
    ``DingTalkError`` (tried again) otherwise. Error texts never hold a secret or token."""
    settings = loaded_settings()
    app = _app(settings)
    with sdk.transaction() as session:
        userid = staff.userid_of(session, uuid.UUID(message.address))
    if userid is None:
        raise sdk.Undeliverable("the staff member has no DingTalk userid")
    with sdk.in_locale(message.locale):
        msg = work_message(message)
    try:
        try:
            return openapi.send_work_notification(
                app, token(app), settings["agent_id"], [userid], msg
            )
        except openapi.TokenRejected:
            forget_token(app)
            return openapi.send_work_notification(
                app, token(app), settings["agent_id"], [userid], msg
            )
    except openapi.Refused as problem:
        raise sdk.Undeliverable(clean_error(str(problem), settings)) from None
    except openapi.DingTalkError as problem:
        raise openapi.DingTalkError(clean_error(str(problem), settings)) from None


def test(session: object) -> str:
    """The connector's test: a new access token for the app (``gettoken``), sending nothing."""
    settings = loaded_settings()
    try:
        fresh = openapi.get_token(_app(settings))
    except (openapi.DingTalkError, openapi.Refused) as problem:
        raise openapi.DingTalkError(clean_error(str(problem), settings)) from None
    return f"access token issued, valid for {fresh.expires_in} s"


def work_message(message: sdk.OutgoingMessage) -> dict[str, Any]:
    """An action card opening the record in LoanDesk when there is a link, otherwise text."""
    title = (message.subject or message.body.strip().split("\n", 1)[0])[:60]
    url = sdk.staff_page_url(message.record_type, message.record_id)
    if url is None:
        text = f"{message.subject}\n{message.body}" if message.subject else message.body
        return {"msgtype": "text", "text": {"content": text}}
    markdown = f"### {title}\n\n{message.body}" if message.subject else message.body
    return {
        "msgtype": "action_card",
        "action_card": {
            "title": title,
            "markdown": markdown,
            "single_title": gettext("Open in LoanDesk"),
            "single_url": url,
        },
    }


def token(app: openapi.App) -> str:
    """The tenant's access token, fetched when there is none or it expires within 5 minutes."""

    def fetch() -> tuple[str, int]:
        fresh = openapi.get_token(app)
        return fresh.value, fresh.expires_in

    return _tokens.token(_app_key(app), app.app_secret, fetch, now=sdk.utcnow())


def forget_token(app: openapi.App) -> None:
    _tokens.forget(_app_key(app), app.app_secret)


def _app_key(app: openapi.App) -> tuple[str, str]:
    return (app.base_url, app.app_key)


def _app(settings: dict[str, Any]) -> openapi.App:
    if not (settings["app_key"] and settings["app_secret"] and settings["agent_id"]):
        raise openapi.DingTalkError("the DingTalk app key, app secret or agent id is not set")
    return openapi.App(
        base_url=settings["base_url"],
        app_key=settings["app_key"],
        app_secret=settings["app_secret"],
        timeout=settings["timeout_seconds"],
    )


def loaded_settings() -> dict[str, Any]:
    """The tenant's settings, secrets decrypted; ``DingTalkError`` when they are invalid."""
    try:
        return dict(DingTalkSettings().load(sdk.plugin_settings(NAME)))
    except ma.ValidationError as problem:
        raise openapi.DingTalkError(
            f"the DingTalk settings are incomplete: {', '.join(sorted(problem.messages))}"
        ) from None


def clean_error(text: str, settings: dict[str, Any]) -> str:
    """``text`` without the tenant's secrets and tokens (DingTalk's errmsg could echo what
    it was sent: no secret belongs in a stored error or an audit row)."""
    for name in ("app_secret", "robot_access_token", "robot_secret"):
        if settings.get(name):
            text = text.replace(settings[name], "***")
    return sdk.scrub_personal(_tokens.mask(text))
