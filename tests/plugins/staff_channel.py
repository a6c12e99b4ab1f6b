"""The common part of the DingTalk and WeCom test fixtures (``Ding``, ``Work``): a tenant with
the plugin configured through the plugins API, staff mapped through ``/api/v1/<plugin>/staff``,
messages put in the outbox through the plugin's staff channel and sent as the outbox job does,
at a clock the test sets (the plugin's token cache reads it too)."""

from __future__ import annotations

import abc
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture, tenant_session

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


class StaffChannelShop(abc.ABC):
    plugin: str  # "dingtalk"
    channel: str  # "dingtalk.work"
    field: str  # "dingtalk_userid"

    def __init__(self, app: Flask, tenant: TenantFixture, api: ApiClient, fake: Any):
        self.app, self.tenant, self.api, self.fake = app, tenant, api, fake
        self.now = NOW

    @abc.abstractmethod
    def settings(self, **changes: Any) -> dict[str, Any]:
        """The plugin's settings for the local provider server, with ``changes``."""

    def configure(self, **changes: Any) -> None:
        answer = self.api.put(
            f"/plugins/{self.plugin}", json={"enabled": True, "settings": self.settings(**changes)}
        )
        assert answer.status_code == 200, answer.get_json()

    def map(self, user_id: str | uuid.UUID, userid: str | None) -> Any:
        answer = self.api.put(f"/{self.plugin}/staff/{user_id}", json={self.field: userid})
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    def notify(self, key: str, user_id: str | uuid.UUID, subject: str, body: str,
               record: tuple[str, str] | None = None) -> None:  # fmt: skip
        """A message to a staff member in the outbox, through the plugin's channel."""
        from loandesk import pii
        from loandesk.notifications import service
        from loandesk.plugins import runtime

        with tenant_session(self.app, self.tenant.slug) as session:
            service.notify(
                session, self.channel, service.Recipient.staff(uuid.UUID(str(user_id))),
                body, subject=subject, key=key, channels=runtime.notification_channels(),
                keys=pii.for_current_tenant(), record=record, now=self.now,
            )  # fmt: skip

    def send(self, now: datetime | None = None) -> int:
        """Send what is due at ``now`` (the plugin's clock too), as ``core.send_messages``
        does; how many went."""
        from loandesk import pii
        from loandesk.notifications import service
        from loandesk.plugins import runtime

        self.now = now or self.now
        with tenant_session(self.app, self.tenant.slug) as session:
            channels, keys = runtime.notification_channels(), pii.for_current_tenant()
            return service.send_due(session, channels, keys, now=self.now)

    def outbox(self) -> dict[str, Any]:
        from loandesk.notifications.models import Message

        with tenant_session(self.app, self.tenant.slug) as session:
            return {m.key: m for m in session.scalars(select(Message))}

    def link(self, path: str) -> str:
        base = self.app.extensions["loandesk"].settings.base_url.rstrip("/")
        return f"{base}/t/{self.tenant.slug}{path}"
