"""The automation action ``dingtalk.group_message`` (发送钉钉群消息): a text or markdown message,
a template over the record's fields, posted to the tenant's DingTalk group robot, signed with
its secret (加签). The robot takes no idempotency key: a crash between the post and the rule's
commit can post the message twice (the rule retries from this action)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from loandesk import sdk
from loandesk_dingtalk import openapi
from loandesk_dingtalk.channel import clean_error, loaded_settings

KINDS = ("text", "markdown")
MAX_LENGTH = 4000
# autoescape off: the texts are DingTalk text and markdown, not HTML
_ENV = ImmutableSandboxedEnvironment(autoescape=False)


def _problems(text: Any, names: Iterable[str]) -> list[str]:
    if not isinstance(text, str) or not text.strip():
        return [sdk.message(sdk.N_("Enter a text."))]
    if len(text) > MAX_LENGTH:
        return [sdk.message(sdk.N_("The text is too long."))]
    try:
        unknown = meta.find_undeclared_variables(_ENV.parse(text)) - set(names)
    except TemplateSyntaxError:
        return [sdk.message(sdk.N_("The template cannot be read."))]
    if unknown:
        return [sdk.message(sdk.N_("The template names fields this record does not have."))]
    return []


def check(params: Mapping[str, Any], form: Any, session: Any) -> dict[str, list[str]]:
    """``msgtype`` text or markdown, ``text`` a template over the record's fields, and for
    markdown a ``title`` (shown in the chat list)."""
    found: dict[str, list[str]] = {}
    names = list(form.expression_kinds)
    if params.get("msgtype", "text") not in KINDS:
        found["msgtype"] = [sdk.message(sdk.N_("Choose text or markdown."))]
    if wrong := _problems(params.get("text"), names):
        found["text"] = wrong
    if params.get("msgtype") == "markdown" and (wrong := _problems(params.get("title"), names)):
        found["title"] = wrong
    return found


def body(params: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The robot's JSON body for these parameters and the record's values."""
    plain = {k: ("" if v is None else v) for k, v in values.items()}
    text = _ENV.from_string(params["text"]).render(plain)
    if params.get("msgtype") == "markdown":
        title = _ENV.from_string(params["title"]).render(plain)[:100]
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    return {"msgtype": "text", "text": {"content": text}}


def run(ctx: Any, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """Post the message; raises (the rule retries) when the robot did not take it."""
    settings = loaded_settings()
    if not settings["robot_access_token"]:
        raise openapi.DingTalkError("the DingTalk group robot is not set up")
    timestamp_ms = int(sdk.utcnow().timestamp() * 1000)
    try:
        openapi.robot_send(
            settings["base_url"], settings["robot_access_token"], settings["robot_secret"] or "",
            body(params, ctx.values), timestamp_ms=timestamp_ms,
            timeout=settings["timeout_seconds"],
        )  # fmt: skip
    except (openapi.DingTalkError, openapi.Refused) as problem:
        sdk.connector_failed("dingtalk", f"group robot: {problem}")
        raise openapi.DingTalkError(clean_error(str(problem), settings)) from None
    sdk.connector_succeeded("dingtalk", "group robot took a message")
    return {"sent": True, "msgtype": params.get("msgtype", "text")}


GROUP_MESSAGE = sdk.ActionType(
    "dingtalk.group_message", "发送钉钉群消息", "Send a DingTalk group message", check, run
)
