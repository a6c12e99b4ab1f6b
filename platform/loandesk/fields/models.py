"""A tenant's custom fields and form layout (字段与表单), as admins edit them, and the published
versions that every write and page uses."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow

# Values of custom fields: JSONB on PostgreSQL (indexable by expression), JSON elsewhere.
JSONValues = JSON().with_variant(JSONB(), "postgresql")


class CustomValues:
    """Mixin for a record type's model: its custom fields' values, in one JSON column
    (``loandesk.fields.validation.store_custom`` writes it, ``read_custom`` reads it)."""

    custom: Mapped[dict[str, Any]] = mapped_column(JSONValues, default=dict)


class FieldDefinition(TenantOwned, Base):
    """A custom field of one record type, as the admin last saved it (the working copy).
    Published versions (``FormVersion``) are what records are validated and shown with;
    ``removed_at`` hides the field from the next published version on, its stored values
    kept."""

    __tablename__ = "field_definitions"
    __table_args__ = (UniqueConstraint("tenant_id", "record_type", "key"),)

    record_type: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    label_zh: Mapped[str] = mapped_column(String(60))
    label_en: Mapped[str] = mapped_column(String(60))
    help_zh: Mapped[str] = mapped_column(String(200), default="")
    help_en: Mapped[str] = mapped_column(String(200), default="")
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    default: Mapped[Any] = mapped_column(JSON, nullable=True)
    # minimum, maximum, min_length, max_length, pattern, places, options, result, link_type
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    section: Mapped[str] = mapped_column(String(40), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    condition: Mapped[str] = mapped_column(Text, default="")
    expression: Mapped[str] = mapped_column(Text, default="")
    searchable: Mapped[bool] = mapped_column(Boolean, default=False)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FormSection(TenantOwned, Base):
    """A titled group of fields on a record type's form and detail page (分组)."""

    __tablename__ = "form_sections"
    __table_args__ = (UniqueConstraint("tenant_id", "record_type", "key"),)

    record_type: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(40))
    label_zh: Mapped[str] = mapped_column(String(60))
    label_en: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(Integer, default=0)


class FormVersion(TenantOwned, Base):
    """What was published: the sections and custom fields of a record type at that moment
    (``layout``: ``{"sections": [...], "fields": [...]}``), numbered 1, 2, ... per record
    type. The highest number is the form in force."""

    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("tenant_id", "record_type", "number"),)

    record_type: Mapped[str] = mapped_column(String(40))
    number: Mapped[int] = mapped_column(Integer)
    layout: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(200), default="")
    published_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# "C" collation: byte order, the same in every database, and what the sortable encoding of
# numbers and dates (``loandesk.fields.search_values.sortable``) is made for.
SearchText = String(300).with_variant(String(300, collation="C"), "postgresql")


class FieldSearchValue(TenantOwned, Base):
    """One value of a searchable custom field of one record, as sortable text (PostgreSQL).

    Filters on custom fields use these rows rather than an expression over the JSON column:
    under row-level security PostgreSQL puts a condition into an index scan only when every
    function in it is LEAKPROOF, which ``jsonb ->>`` and ``numeric`` comparisons are not (and
    only a superuser may declare one so), while text and uuid equality and order are. A multi
    select has one row per chosen option."""

    __tablename__ = "field_search_values"
    __table_args__ = (
        Index(
            "ix_field_search_values_lookup", "tenant_id", "record_type", "key", "value", "record_id"
        ),
        Index("ix_field_search_values_record", "tenant_id", "record_id"),
    )

    record_type: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(SearchText)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid)
