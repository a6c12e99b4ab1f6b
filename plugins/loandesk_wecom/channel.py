"""The ``wecom.work`` channel: a message to a staff member as a WeCom app message (应用消息)
from the tenant's app — a template card (模板卡片, text_notice) opening the record in LoanDesk
when the message names one, text otherwise. The access token is kept per tenant and app until
shortly before it expires; a token WeCom refuses is fetched again once."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask_babel import gettext

from loandesk import sdk
from loandesk_wecom import openapi, staff
from loandesk_wecom.settings import WeComSettings

NAME = "wecom"
# the card's documented limits (document/path/90372): at most 6 facts; lengths WeCom advises
MAX_FACTS, TITLE_LENGTH, SUBTITLE_LENGTH = 6, 36, 160

_tokens = sdk.TokenCache()  # per tenant and app, fetched again 5 minutes before it expires


def send(message: sdk.OutgoingMessage) -> str:
    """Send the message to the staff member's WeCom userid; WeCom's msgid. ``Undeliverable``
    when the staff member has no userid or WeCom refuses for good, ``WeComError`` (tried
    again) otherwise. Error texts never hold a secret or token."""
    settings = loaded_settings()
    app = _app(settings)
    with sdk.transaction() as session:
        userid = staff.userid_of(session, uuid.UUID(message.address))
    if userid is None:
        raise sdk.Undeliverable("the staff member has no WeCom userid")
    with sdk.in_locale(message.locale):
        content = app_message(message)
    try:
        try:
            return openapi.send_app_message(app, token(app), userid, content)
        except openapi.TokenRejected:
            forget_token(app)
            return openapi.send_app_message(app, token(app), userid, content)
    except openapi.Refused as problem:
        raise sdk.Undeliverable(clean(str(problem), settings)) from None
    except openapi.WeComError as problem:
        raise openapi.WeComError(clean(str(problem), settings)) from None


def test(session: object) -> str:
    """The connector's test: a new access token for the app (``gettoken``), sending nothing."""
    settings = loaded_settings()
    try:
        fresh = openapi.get_token(_app(settings))
    except (openapi.WeComError, openapi.Refused) as problem:
        raise openapi.WeComError(clean(str(problem), settings)) from None
    return f"access token issued, valid for {fresh.expires_in} s"


def app_message(message: sdk.OutgoingMessage) -> dict[str, Any]:
    """A text_notice card opening the record in LoanDesk when there is a link, otherwise
    text. The body's first paragraph is the card's text; the lines "label：value" after it
    are its facts (二级标题+文本), the other lines join the text."""
    url = sdk.staff_page_url(message.record_type, message.record_id)
    if url is None:
        text = f"{message.subject}\n{message.body}" if message.subject else message.body
        return {"msgtype": "text", "text": {"content": text}}
    lead, _, rest = message.body.strip().partition("\n\n")
    lines: list[str] = [lead]
    facts: list[dict[str, str]] = []
    for line in rest.splitlines():
        label, found, value = line.partition(staff.FACT)
        if found and label.strip() and len(facts) < MAX_FACTS:
            facts.append({"keyname": label.strip(), "value": value.strip()})
        elif line.strip():
            lines.append(line.strip())
    title = (message.subject or lead.split("\n", 1)[0])[:TITLE_LENGTH]
    card: dict[str, Any] = {
        "card_type": "text_notice",
        "source": {"desc": "LoanDesk"},
        "main_title": {"title": title},
        "sub_title_text": "\n".join(lines)[:SUBTITLE_LENGTH],
        "jump_list": [{"type": 1, "title": gettext("Open in LoanDesk"), "url": url}],
        "card_action": {"type": 1, "url": url},
    }
    if facts:
        card["horizontal_content_list"] = facts
    return {"msgtype": "template_card", "template_card": card}


def token(app: openapi.App) -> str:
    """The tenant's access token, fetched when there is none or it expires within 5 minutes."""

    def fetch() -> tuple[str, int]:
        fresh = openapi.get_token(app)
        return fresh.value, fresh.expires_in

    return _tokens.token(_app_key(app), app.app_secret, fetch, now=sdk.utcnow())


def forget_token(app: openapi.App) -> None:
    _tokens.forget(_app_key(app), app.app_secret)


def _app_key(app: openapi.App) -> tuple[str, str, int]:
    return (app.base_url, app.corp_id, app.agent_id)


def _app(settings: dict[str, Any]) -> openapi.App:
    if not (settings["corp_id"] and settings["app_secret"] and settings["agent_id"]):
        raise openapi.WeComError("the WeCom corp id, app secret or agent id is not set")
    return app_of(settings)


def app_of(settings: dict[str, Any]) -> openapi.App:
    return openapi.App(
        base_url=settings["base_url"],
        corp_id=settings["corp_id"],
        app_secret=settings["app_secret"],
        agent_id=settings["agent_id"],
        timeout=settings["timeout_seconds"],
    )


def loaded_settings() -> dict[str, Any]:
    """The tenant's settings, secrets decrypted; ``WeComError`` when they are invalid."""
    try:
        return dict(WeComSettings().load(sdk.plugin_settings(NAME)))
    except ma.ValidationError as problem:
        raise openapi.WeComError(
            f"the WeCom settings are incomplete: {', '.join(sorted(problem.messages))}"
        ) from None


def clean(text: str, settings: dict[str, Any]) -> str:
    """``text`` without the tenant's secrets or any token held: WeCom's errmsg could echo what
    it was sent, and no secret belongs in a stored error."""
    for name in ("app_secret", "robot_key"):
        if settings.get(name):
            text = text.replace(settings[name], "***")
    return sdk.scrub_personal(_tokens.mask(text))
