"""Which WeCom member (企业微信 userid, 成员账号) each staff member is, per tenant: app messages
go to the staff members mapped here. A WeCom userid is an account inside the firm's WeCom, not
personal data such as a phone number."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKeyConstraint, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from loandesk import sdk


class StaffAccount(sdk.TenantOwned, sdk.Base):
    __tablename__ = "wecom_staff_accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    wecom_userid: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
