"""The plugin's own tables (prefixed with its name), tenant-owned like every business table."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from loandesk import sdk


class HelloGreeting(sdk.TenantOwned, sdk.Base):
    __tablename__ = "hello_greetings"

    text: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(sdk.UTCDateTime, default=sdk.utcnow)


class HelloContact(sdk.PersonalData, sdk.Base):
    """A person the plugin knows, with personal fields and a retention clock (``ended_at``)."""

    __tablename__ = "hello_contacts"
    __personal_fields__ = {"mobile": "mobile", "id_number": "resident_id"}

    name: Mapped[str] = mapped_column(String(100))  # plain text: becomes ANONYMISED_NAME
    amount: Mapped[Decimal] = mapped_column(sdk.Money())  # a financial fact: kept
    ended_at: Mapped[datetime | None] = mapped_column(sdk.UTCDateTime)
    anonymised_at: Mapped[datetime | None] = mapped_column(sdk.UTCDateTime)
