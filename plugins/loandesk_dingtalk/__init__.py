"""DingTalk (钉钉): the ``dingtalk.work`` channel, which reaches staff members as work
notifications (工作通知) from the firm's DingTalk app — their approval tasks and to-dos, with a
link back to LoanDesk — and the automation action ``dingtalk.group_message`` (发送钉钉群消息),
which posts to a group through its custom robot, signed (加签), and, when the tenant allows
it, signing in with DingTalk (钉钉登录, ``loandesk_dingtalk.sign_in``). Each staff member's
DingTalk userid is kept by this plugin (``/api/v1/dingtalk/staff``). The API calls and error
handling are in ``loandesk_dingtalk.openapi`` and ``docs/connectors.md``."""

from __future__ import annotations

from pathlib import Path

from flask_smorest import Blueprint as ApiBlueprint

from loandesk import sdk
from loandesk_dingtalk.settings import DingTalkSettings

PLUGIN = sdk.PluginInfo(
    name="dingtalk",
    title_zh="钉钉",
    title_en="DingTalk",
    version="1.0.0",
    description_zh="通过机构的钉钉企业内部应用给员工发送工作通知（审批任务、待办，附 LoanDesk "
    "链接），并可由自动化规则通过群机器人（加签）发送群消息。",
    description_en="Work notifications to staff through the firm's DingTalk app (approval "
    "tasks and to-dos, with a link to LoanDesk), and group messages from automation rules "
    "through a signed group robot.",
    settings_schema=DingTalkSettings,
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_notification_channels() -> list[sdk.Channel]:
    from loandesk_dingtalk.channel import send

    return [
        sdk.Channel(
            "dingtalk.work",
            "钉钉工作通知",
            "DingTalk work notification",
            send,
            address_kind="user",
            audiences=frozenset({"staff"}),
        )
    ]


@sdk.hookimpl
def loandesk_event_handlers() -> list[sdk.EventHandler]:
    from loandesk_dingtalk.staff import on_assigned, on_todo

    # idempotent: the messages are keyed by the event, a redelivery queues nothing new
    return [
        sdk.EventHandler("flow.assigned", "work_notice_task", on_assigned, idempotent=True),
        sdk.EventHandler("todo.created", "work_notice_todo", on_todo, idempotent=True),
    ]


@sdk.hookimpl
def loandesk_automation_actions() -> list[sdk.ActionType]:
    from loandesk_dingtalk.robot import GROUP_MESSAGE

    return [GROUP_MESSAGE]


@sdk.hookimpl
def loandesk_sign_in_providers() -> list[sdk.SignInProvider]:
    from loandesk_dingtalk.sign_in import providers

    return providers()


@sdk.hookimpl
def loandesk_connectors() -> list[sdk.Connector]:
    from loandesk_dingtalk.channel import test

    # the group robot has no call that posts nothing: its messages record its state here too
    return [sdk.Connector("dingtalk", "钉钉", "DingTalk", "dingtalk", test,
                          channels=("dingtalk.work",))]  # fmt: skip


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    from loandesk_dingtalk.api import blp

    return [blp]
