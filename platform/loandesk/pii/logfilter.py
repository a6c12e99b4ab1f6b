"""No personal data in application logs: one ``logging.Filter`` that masks resident ID numbers,
mobile numbers, bank card numbers and the local part of e-mail addresses in every record
(docs/personal-data.md).

``install`` puts it on the handlers that exist when the app is created (the root logger's and
the app logger's, which every ``loandesk.*`` record reaches) and on the loggers that servers and
workers write to directly (werkzeug, gunicorn, rq), whose handlers may come later. A record is
masked once: its message is formatted with its arguments, masked, and stored back without
arguments; a traceback is formatted, masked and stored as the record's ``exc_text``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from stdnum import luhn

from loandesk.pii.masking import mask_bank_card, mask_mobile, mask_resident_id

# Loggers that servers and workers log to themselves (access lines carry URLs and query strings).
SERVER_LOGGERS = (
    "loandesk",
    "werkzeug",
    "gunicorn.access",
    "gunicorn.error",
    "rq.worker",
    "rq.job",
    "rq.queue",
    "rq.scheduler",
)

_RESIDENT_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    r"\d{3}[\dXx](?![0-9A-Za-z])"
)
# Card numbers: 13-19 digits, optionally in groups split by a space or hyphen, starting as
# issuers do (2-6: UnionPay 62, Visa 4, Mastercard 2/5, Amex 3), with a valid Luhn digit, so
# that timestamps and order numbers stay readable.
_BANK_CARD = re.compile(r"(?<![\d.])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\d.])")
_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")
_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
_MASKED = "_loandesk_pii_masked"


def scrub(text: str) -> str:
    """``text`` with every personal number and e-mail local part masked."""
    text = _RESIDENT_ID.sub(lambda m: mask_resident_id(m.group(0)), text)
    text = _BANK_CARD.sub(_card, text)
    text = _MOBILE.sub(lambda m: mask_mobile(m.group(0)), text)
    return _EMAIL.sub(lambda m: f"{m.group(1)[:1]}***@{m.group(2)}", text)


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return (
        mask_bank_card(digits)
        if 13 <= len(digits) <= 19 and luhn.is_valid(digits)
        else (match.group(0))
    )


class PersonalDataFilter(logging.Filter):
    """Masks personal data in a record's message, arguments, traceback and stack; never drops
    a record."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _MASKED, False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a wrong format string: keep what there is, masked
            message = f"{record.msg} {record.args}"
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
            # Formatters print exc_text; without exc_info no handler formats the raw one again.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        setattr(record, _MASKED, True)
        return True


def _has_filter(target: logging.Filterer) -> bool:
    return any(isinstance(f, PersonalDataFilter) for f in target.filters)


def install(loggers: Iterable[logging.Logger] = ()) -> None:
    """Add the filter (once) to the handlers of the root logger and of ``loggers``, to
    ``logging.lastResort``, and to the server loggers themselves."""
    targets: list[logging.Filterer] = []
    for logger in (logging.getLogger(), *loggers):
        targets.extend(logger.handlers)
    if logging.lastResort is not None:
        targets.append(logging.lastResort)
    targets.extend(logging.getLogger(name) for name in SERVER_LOGGERS)
    for target in targets:
        if not _has_filter(target):
            target.addFilter(PersonalDataFilter())
