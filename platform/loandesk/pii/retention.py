"""Retention subjects: the record types whose personal data is anonymised once their retention
period (保存期限) has run out (个人信息保护法 第十九条, 第四十七条; docs/personal-data.md).

A module declares each record type that holds personal data with a ``RetentionSubject``
(hook ``loandesk_retention_subjects``); the tenant sets how many days after the clock starts
its records are kept (``loandesk.privacy.retention``), and the daily job anonymises what is
due. Anonymising clears the personal fields and keeps the financial facts (amounts, dates,
statuses) that accounting and anti-money-laundering rules require.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from loandesk.pii.fields import PersonalData

# What a name becomes when it is kept as plain text (a display name, a contract party).
ANONYMISED_NAME = "已匿名化"
# 100 years: longer than any record is kept; "keep forever" is a period of None instead.
MAXIMUM_DAYS = 36_500
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class RetentionSubject:
    """A record type with personal data and a retention clock.

    ``key`` is ``<plugin>.<record>`` (``core.<record>`` for the core's), at most 40 characters:
    it is the record type of the audit events of its anonymisations. ``clock_zh`` /
    ``clock_en`` name the event that starts the clock (“业务关系终止后” / “after the
    relationship ended”). ``minimum_days`` is the shortest period the law allows for this
    record type, and ``basis`` cites that law (“反洗钱法 第三十四条”): the tenant cannot set a
    shorter one.

    ``due(cutoff)`` returns a SELECT of the ids (one column) of the current tenant's records
    whose clock started before ``cutoff`` (an aware UTC datetime) and that are not anonymised
    yet; the core counts it for a dry run and reads it in batches. ``anonymise(session,
    record_id, now)`` anonymises one record in the caller's transaction (clear its personal
    fields with ``clear_personal``, put ``ANONYMISED_NAME`` in plain-text names, set its
    ``anonymised_at`` to ``now``, so that ``due`` no longer lists it) and returns the names of
    the fields it cleared (never their values: they go to the audit log).
    """

    key: str
    label_zh: str
    label_en: str
    clock_zh: str
    clock_en: str
    due: Callable[[datetime], Select[Any]]
    anonymise: Callable[[Session, uuid.UUID, datetime], Sequence[str]]
    minimum_days: int = 0
    basis: str = ""

    def label(self, locale: str) -> str:
        return self.label_zh if locale.startswith("zh") else self.label_en

    def clock(self, locale: str) -> str:
        return self.clock_zh if locale.startswith("zh") else self.clock_en

    def problems(self) -> list[str]:
        """What is wrong with the declaration (the plugin host refuses the plugin then)."""
        found = []
        if not KEY_PATTERN.match(self.key) or len(self.key) > 40:  # the audit's record_type
            found.append(
                f"retention subject key {self.key!r} must look like plugin.record "
                "(at most 40 characters)"
            )
        if not 0 <= self.minimum_days <= MAXIMUM_DAYS:
            found.append(f"retention subject {self.key!r}: minimum_days out of range")
        if not callable(self.due) or not callable(self.anonymise):
            found.append(f"retention subject {self.key!r}: due and anonymise must be callable")
        return found


def clear_personal(record: PersonalData, fields: Sequence[str] | None = None) -> list[str]:
    """Clear the personal fields of ``record`` (all by default): ciphertext and search hash
    both, so it is neither readable nor findable. Returns the fields that held a value."""
    cleared = []
    for field in fields if fields is not None else record.__personal_fields__:
        record.personal_kind(field)  # AttributeError for a field that is not personal
        if getattr(record, f"{field}_enc") is not None or getattr(record, f"{field}_hash"):
            cleared.append(field)
        setattr(record, f"{field}_enc", None)
        setattr(record, f"{field}_hash", None)
    return cleared
