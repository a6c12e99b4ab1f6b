"""The automation action ``wecom.group_message`` (发送企业微信群消息): a text or markdown
message, a template over the record's fields, posted to the tenant's WeCom group robot
(群机器人). WeCom's robot has no signing: the webhook key is its only credential, so it is
kept as a secret. The robot takes no idempotency key: a crash between the post and the rule's
commit can post the message twice (the rule retries from this action)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loandesk import sdk
from loandesk_wecom import openapi
from loandesk_wecom.channel import clean, loaded_settings

KINDS = ("text", "markdown")
# the robot's documented limits (document/path/91770): text 2048 bytes, markdown 4096 bytes
# of UTF-8. The template is checked against them when saved; a rendered text still too long
# is refused by WeCom (the rule retries, then shows the error in its run log)
MAX_BYTES = {"text": 2048, "markdown": 4096}


def check(params: Mapping[str, Any], form: Any, session: Any) -> dict[str, list[str]]:
    """``msgtype`` text or markdown and ``text``, a template over the record's fields (and
    its ``title`` and ``today``), as the core's messages are."""
    found: dict[str, list[str]] = {}
    kind = params.get("msgtype", "text")
    if kind not in KINDS:
        found["msgtype"] = [sdk.message(sdk.N_("Choose text or markdown."))]
    text = params.get("text")
    if wrong := sdk.template_problems(text, form.expression_kinds):
        found["text"] = wrong
    elif len(str(text).encode()) > MAX_BYTES.get(str(kind), MAX_BYTES["text"]):
        found["text"] = [sdk.message(sdk.N_("The text is too long."))]
    return found


def body(ctx: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """The robot's JSON body for these parameters and the action's record."""
    kind = "markdown" if params.get("msgtype") == "markdown" else "text"
    return {"msgtype": kind, kind: {"content": sdk.render_action_template(ctx, params["text"])}}


def run(ctx: Any, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """Post the message; raises (the rule retries) when the robot did not take it."""
    settings = loaded_settings()
    if not settings["robot_key"]:
        raise openapi.WeComError("the WeCom group robot is not set up")
    try:
        openapi.robot_send(settings["base_url"], settings["robot_key"], body(ctx, params),
                           timeout=settings["timeout_seconds"])  # fmt: skip
    except (openapi.WeComError, openapi.Refused) as problem:
        sdk.connector_failed("wecom", f"group robot: {problem}")
        raise openapi.WeComError(clean(str(problem), settings)) from None
    sdk.connector_succeeded("wecom", "group robot took a message")
    return {"sent": True, "msgtype": params.get("msgtype", "text")}


GROUP_MESSAGE = sdk.ActionType(
    "wecom.group_message", "发送企业微信群消息", "Send a WeCom group message", check, run
)
