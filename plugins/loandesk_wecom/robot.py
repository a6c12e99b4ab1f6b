"""The automation action ``wecom.group_message`` (发送企业微信群消息): a text or markdown
message, a template over the record's fields, posted to the tenant's WeCom group robot
(群机器人). WeCom's robot has no signing: the webhook key is its only credential, so it is
kept as a secret. The robot takes no idempotency key: a crash between the post and the rule's
commit can post the message twice (the rule retries from this action)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from loandesk import sdk
from loandesk_wecom import openapi
from loandesk_wecom.channel import clean, loaded_settings

KINDS = ("text", "markdown")
# the robot's documented limits (document/path/91770): text 2048 bytes, markdown 4096 bytes
# of UTF-8. The template is checked against them when saved; a rendered text still too long
# is refused by WeCom (the rule retries, then shows the error in its run log)
MAX_BYTES = {"text": 2048, "markdown": 4096}
# autoescape off: the texts are WeCom text and markdown, not HTML
_ENV = ImmutableSandboxedEnvironment(autoescape=False)


def _problems(text: Any, names: Iterable[str], kind: str) -> list[str]:
    if not isinstance(text, str) or not text.strip():
        return [sdk.message(sdk.N_("Enter a text."))]
    if len(text.encode()) > MAX_BYTES.get(kind, MAX_BYTES["text"]):
        return [sdk.message(sdk.N_("The text is too long."))]
    try:
        unknown = meta.find_undeclared_variables(_ENV.parse(text)) - set(names)
    except TemplateSyntaxError:
        return [sdk.message(sdk.N_("The template cannot be read."))]
    if unknown:
        return [sdk.message(sdk.N_("The template names fields this record does not have."))]
    return []


def check(params: Mapping[str, Any], form: Any, session: Any) -> dict[str, list[str]]:
    """``msgtype`` text or markdown and ``text``, a template over the record's fields."""
    found: dict[str, list[str]] = {}
    kind = params.get("msgtype", "text")
    if kind not in KINDS:
        found["msgtype"] = [sdk.message(sdk.N_("Choose text or markdown."))]
    if wrong := _problems(params.get("text"), list(form.expression_kinds), str(kind)):
        found["text"] = wrong
    return found


def body(params: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The robot's JSON body for these parameters and the record's values."""
    plain = {k: ("" if v is None else v) for k, v in values.items()}
    text = _ENV.from_string(params["text"]).render(plain)
    kind = "markdown" if params.get("msgtype") == "markdown" else "text"
    return {"msgtype": kind, kind: {"content": text}}


def run(ctx: Any, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """Post the message; raises (the rule retries) when the robot did not take it."""
    settings = loaded_settings()
    if not settings["robot_key"]:
        raise openapi.WeComError("the WeCom group robot is not set up")
    try:
        openapi.robot_send(settings["base_url"], settings["robot_key"], body(params, ctx.values),
                           timeout=settings["timeout_seconds"])  # fmt: skip
    except (openapi.WeComError, openapi.Refused) as problem:
        raise openapi.WeComError(clean(str(problem), settings)) from None
    return {"sent": True, "msgtype": params.get("msgtype", "text")}


GROUP_MESSAGE = sdk.ActionType(
    "wecom.group_message", "发送企业微信群消息", "Send a WeCom group message", check, run
)
