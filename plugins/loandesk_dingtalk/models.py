"""Which DingTalk user (钉钉 userid) each staff member is, per tenant: work notifications go to
the staff members mapped here. A DingTalk userid is an id inside the firm's DingTalk
organisation, not personal data such as a phone number."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKeyConstraint, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from loandesk import sdk


class StaffAccount(sdk.TenantOwned, sdk.Base):
    __tablename__ = "dingtalk_staff_accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        UniqueConstraint("tenant_id", "dingtalk_userid"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    dingtalk_userid: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
