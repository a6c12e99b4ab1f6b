"""WeCom (企业微信): the ``wecom.work`` channel, which reaches staff members as app messages
(应用消息) from the firm's own WeCom app — their approval tasks, as a card with the
application's key facts, and their to-dos, each with a link back to LoanDesk — and the
automation action ``wecom.group_message`` (发送企业微信群消息), which posts to a group through
its robot (群机器人), and, when the tenant allows it, signing in with WeCom (企业微信登录,
``loandesk_wecom.sign_in``). Each staff member's WeCom userid is kept by this plugin
(``/api/v1/wecom/staff``). The API calls and error handling are in ``loandesk_wecom.openapi``
and ``docs/connectors.md``."""

from __future__ import annotations

from pathlib import Path

from flask_smorest import Blueprint as ApiBlueprint

from loandesk import sdk
from loandesk_wecom.settings import WeComSettings

PLUGIN = sdk.PluginInfo(
    name="wecom",
    title_zh="企业微信",
    title_en="WeCom",
    version="1.0.0",
    description_zh="通过机构的企业微信自建应用给员工发送应用消息（审批任务以卡片展示申请要点、"
    "待办，附 LoanDesk 链接），并可由自动化规则通过群机器人发送群消息。",
    description_en="App messages to staff through the firm's own WeCom app (approval tasks as "
    "a card with the application's key facts, and to-dos, with a link to LoanDesk), and group "
    "messages from automation rules through a group robot.",
    settings_schema=WeComSettings,
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_notification_channels() -> list[sdk.Channel]:
    from loandesk_wecom.channel import send

    return [
        sdk.Channel(
            "wecom.work",
            "企业微信应用消息",
            "WeCom app message",
            send,
            address_kind="user",
            audiences=frozenset({"staff"}),
        )
    ]


@sdk.hookimpl
def loandesk_event_handlers() -> list[sdk.EventHandler]:
    from loandesk_wecom.staff import on_assigned, on_todo

    # idempotent: the messages are keyed by the event, a redelivery queues nothing new
    return [
        sdk.EventHandler("flow.assigned", "app_message_task", on_assigned, idempotent=True),
        sdk.EventHandler("todo.created", "app_message_todo", on_todo, idempotent=True),
    ]


@sdk.hookimpl
def loandesk_automation_actions() -> list[sdk.ActionType]:
    from loandesk_wecom.robot import GROUP_MESSAGE

    return [GROUP_MESSAGE]


@sdk.hookimpl
def loandesk_sign_in_providers() -> list[sdk.SignInProvider]:
    from loandesk_wecom.sign_in import providers

    return providers()


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    from loandesk_wecom.api import blp

    return [blp]


@sdk.hookimpl
def loandesk_connectors() -> list[sdk.Connector]:
    from loandesk_wecom.channel import test

    # the group robot has no call that posts nothing: its messages record its state here too
    return [sdk.Connector("wecom", "企业微信", "WeCom", "wecom", test, channels=("wecom.work",))]
