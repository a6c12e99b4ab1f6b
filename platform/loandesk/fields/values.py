"""Values of fields, kind by kind: reading what a user typed, an API sent or a sheet held
(``parse``), and the JSON that holds a custom field's value (``to_json`` / ``from_json``).

``parse`` is the single place that says what a valid value of a kind is; the marshmallow
schema of a record type (``loandesk.fields.validation``) calls it for every field, so the API,
the web forms, the Excel import and automations accept and refuse the same values with the
same messages. Numbers are ``Decimal`` (a float is refused: it cannot hold most amounts), dates
``date``, date-times aware ``datetime`` in UTC, a multi select a list of option values.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from loandesk.errors import ValidationFailed
from loandesk.fields.registry import ENCRYPTED_KINDS, NUMERIC_KINDS, FieldSpec
from loandesk.i18n import N_

DEFAULT_TEXT_LENGTH = 200
DEFAULT_LONG_TEXT_LENGTH = 2000
MONEY_LIMIT = Decimal("10000000000000")  # 10 trillion yuan: more is a typing error
NUMBER_LIMIT = Decimal("1000000000000000")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_LIST_SEPARATORS = re.compile(r"[,，、;；\n]+")
_TRUE = {"true", "1", "yes", "y", "是", "对", "√"}
_FALSE = {"false", "0", "no", "n", "否", "不", "×"}


CENT = Decimal("0.01")


def minor_units(amount: Decimal) -> int:
    """An amount of yuan as an integer of 分 (amounts are validated to 2 places first)."""
    return int((amount * 100).to_integral_exact())


class Invalid(ValueError):
    """A value that does not fit its field: ``message`` an English message id, ``params``
    its placeholders (translated where it is shown)."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


@dataclass
class Context:
    """What parsing some kinds needs: the tenant's time zone (a date-time without an offset
    is in it), and checks that a staff member, an attachment or a linked record exists and
    may be chosen (given by the adapter; ``None`` accepts any well-formed id)."""

    timezone: str = "Asia/Shanghai"
    user_exists: Callable[[uuid.UUID], bool] | None = None
    attachment_exists: Callable[[uuid.UUID, FieldSpec], bool] | None = None
    record_exists: Callable[[str, uuid.UUID], bool] | None = None
    regions: Callable[[str], str | None] | None = None  # a code or a name path -> the code
    users_by_name: Mapping[str, uuid.UUID] = field(default_factory=dict)


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | tuple | dict) and not value)


def parse(spec: FieldSpec, raw: Any, context: Context | None = None) -> Any:
    """The value of ``spec`` that ``raw`` stands for (None when empty), or ``Invalid``."""
    context = context or Context()
    if isinstance(raw, str):
        raw = raw.strip()
    if is_empty(raw):
        return None
    kind = spec.kind
    if kind == "computed":
        raise Invalid(N_("This field is computed; it cannot be entered."))
    if kind in ("text", "long_text", "name", "address"):
        return _text(spec, raw)
    if kind in NUMERIC_KINDS:
        return _number(spec, raw)
    if kind == "date":
        return _date(spec, raw)
    if kind == "datetime":
        return _datetime(spec, raw, context)
    if kind == "boolean":
        return _boolean(raw)
    if kind == "select":
        return _option(spec, raw)
    if kind == "multi_select":
        return _options(spec, raw)
    if kind in ("mobile", "resident_id", "bank_card"):
        from loandesk.pii.validation import validate

        try:
            return validate(kind, _string(raw), field=spec.key)
        except ValidationFailed as problem:
            raise Invalid(problem.errors[spec.key][0]) from None
    if kind == "email":
        text = _string(raw)
        if len(text) > 254 or not _EMAIL.match(text):
            raise Invalid(N_("Enter an e-mail address, e.g. name@example.com."))
        local, domain = text.rsplit("@", 1)
        return f"{local}@{domain.lower()}"
    if kind == "region":
        return _region(raw, context)
    if kind in ("user", "org_unit"):
        return _user(spec, raw, context)
    if kind == "attachment":
        ident = _uuid(raw, N_("Upload a file."))
        if context.attachment_exists is not None and not context.attachment_exists(ident, spec):
            raise Invalid(N_("No such uploaded file."))
        return ident
    if kind == "link":
        ident = _uuid(raw, N_("Choose a record."))
        link_type = spec.link_type or ""
        if context.record_exists is not None and not context.record_exists(link_type, ident):
            raise Invalid(N_("No such record."))
        return ident
    raise Invalid(N_("This field cannot be entered."))


def _string(raw: Any) -> str:
    if isinstance(raw, bool | list | dict | float):
        raise Invalid(N_("Enter text."))
    if isinstance(raw, int):
        return str(raw)
    if not isinstance(raw, str):
        raise Invalid(N_("Enter text."))
    return raw.strip()


def _text(spec: FieldSpec, raw: Any) -> str:
    text = _string(raw)
    default = DEFAULT_LONG_TEXT_LENGTH if spec.kind == "long_text" else DEFAULT_TEXT_LENGTH
    longest = spec.max_length or default
    if len(text) > longest:
        raise Invalid(N_("Use at most %(count)s characters."), count=longest)
    if spec.min_length and len(text) < spec.min_length:
        raise Invalid(N_("Use at least %(count)s characters."), count=spec.min_length)
    if spec.pattern and not re.fullmatch(spec.pattern, text):
        raise Invalid(N_("This does not have the expected format."))
    return text


def _number(spec: FieldSpec, raw: Any) -> Decimal | int:
    kind = spec.kind
    if isinstance(raw, bool | float):
        # A float cannot hold most amounts exactly; JSON numbers with a fraction arrive as one.
        raise Invalid(N_('Send numbers with a fraction as text, e.g. "8500.00".'))
    if isinstance(raw, int):
        number = Decimal(raw)
    elif isinstance(raw, Decimal):
        number = raw
    elif isinstance(raw, str):
        try:
            number = Decimal(raw.replace(",", "").replace("，", "").removesuffix("%").strip())
        except InvalidOperation:
            raise Invalid(N_("Enter a number, e.g. 8500.00.")) from None
    else:
        raise Invalid(N_("Enter a number, e.g. 8500.00."))
    if not number.is_finite() or abs(number) >= NUMBER_LIMIT:
        raise Invalid(N_("Enter a number, e.g. 8500.00."))
    places = {"integer": 0, "money": 2, "percent": 4}.get(kind, spec.places)
    if places is None:
        places = 2
    if number != number.quantize(Decimal(1).scaleb(-places)):
        if places == 0:
            raise Invalid(N_("Enter a whole number."))
        raise Invalid(N_("Use at most %(count)s decimal places."), count=places)
    low = Decimal(spec.minimum) if spec.minimum is not None else None
    high = Decimal(spec.maximum) if spec.maximum is not None else None
    if kind == "money":
        low = Decimal(0) if low is None else low
        high = MONEY_LIMIT if high is None else high
    if kind == "percent":
        low = Decimal(0) if low is None else low
        high = Decimal(100) if high is None else high
    if low is not None and number < low:
        raise Invalid(N_("Enter %(limit)s or more."), limit=_plain_number(low))
    if high is not None and number > high:
        raise Invalid(N_("Enter %(limit)s or less."), limit=_plain_number(high))
    if kind == "integer":
        return int(number)
    return number.quantize(Decimal(1).scaleb(-places))


def _plain_number(number: Decimal) -> str:
    return format(number.normalize(), "f") if number == number.to_integral() else str(number)


def _date(spec: FieldSpec, raw: Any) -> date:
    if isinstance(raw, datetime):
        value = raw.date()
    elif isinstance(raw, date):
        value = raw
    elif isinstance(raw, str):
        text = raw.replace("/", "-").replace(".", "-")
        try:
            value = date.fromisoformat(text[:10] if len(text) > 10 and "T" in text else text)
        except ValueError:
            raise Invalid(N_("Enter a date as YYYY-MM-DD, e.g. 2026-03-01.")) from None
    else:
        raise Invalid(N_("Enter a date as YYYY-MM-DD, e.g. 2026-03-01."))
    if spec.minimum and value < date.fromisoformat(spec.minimum):
        raise Invalid(N_("Enter %(limit)s or later."), limit=spec.minimum)
    if spec.maximum and value > date.fromisoformat(spec.maximum):
        raise Invalid(N_("Enter %(limit)s or earlier."), limit=spec.maximum)
    return value


def _datetime(spec: FieldSpec, raw: Any, context: Context) -> datetime:
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw.replace("/", "-"))
        except ValueError:
            raise Invalid(N_("Enter a date and time, e.g. 2026-03-01 09:30.")) from None
    else:
        raise Invalid(N_("Enter a date and time, e.g. 2026-03-01 09:30."))
    if value.tzinfo is None:  # staff type the firm's local time
        value = value.replace(tzinfo=ZoneInfo(context.timezone))
    return value.astimezone(UTC)


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Invalid(N_("Choose yes or no."))


def _option(spec: FieldSpec, raw: Any) -> str:
    text = _string(raw)
    for value, label_zh, label_en in spec.options:
        if text in (value, label_zh, label_en):
            return value
    raise Invalid(N_("Choose one of the options."))


def _options(spec: FieldSpec, raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else _LIST_SEPARATORS.split(_string(raw))
    chosen: list[str] = []
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        value = _option(spec, item)
        if value not in chosen:
            chosen.append(value)
    order = [value for value, _zh, _en in spec.options]
    return sorted(chosen, key=order.index)


def _region(raw: Any, context: Context) -> str:
    from loandesk.fields import regions

    text = _string(raw)
    code = (context.regions or regions.code_of)(text)
    if code is None:
        raise Invalid(N_("Choose a province, city and district."))
    return code


def _user(spec: FieldSpec, raw: Any, context: Context) -> uuid.UUID:
    text = _string(raw) if not isinstance(raw, uuid.UUID) else str(raw)
    ident = context.users_by_name.get(text)
    if ident is None:
        ident = _uuid(text, N_("Choose a staff member."))
    # an org unit is not a staff member: its id is only checked for form here
    if spec.value_kind == "user" and context.user_exists and not context.user_exists(ident):
        raise Invalid(N_("Choose an active staff member."))
    return ident


def _uuid(raw: Any, message: str) -> uuid.UUID:
    if isinstance(raw, uuid.UUID):
        return raw
    try:
        return uuid.UUID(_string(raw))
    except ValueError:
        raise Invalid(message) from None


def coerce_result(spec: FieldSpec, value: Any) -> Any:
    """A computed field's expression result as its declared result kind (None when it could
    not be computed or does not fit)."""
    if value is None:
        return None
    result = spec.value_kind
    try:
        if result in NUMERIC_KINDS:
            if isinstance(value, bool) or not isinstance(value, Decimal | int):
                return None
            places = {"integer": 0, "money": 2}.get(result, spec.places if spec.places else 2)
            number = Decimal(value).quantize(Decimal(1).scaleb(-places))
            return int(number) if result == "integer" else number
        if result == "boolean":
            return value if isinstance(value, bool) else None
        if result == "date":
            return value.date() if isinstance(value, datetime) else None
        if result == "text":
            return value if isinstance(value, str) else str(value)
    except (InvalidOperation, ValueError):
        return None
    return None


# --- JSON ---------------------------------------------------------------------------------


def to_json(spec: FieldSpec, value: Any, *, encrypt: Callable[[str], dict[str, str]]) -> Any:
    """How a custom field's value is stored in the record's ``custom`` column. Money is an
    integer of minor units (分), as in every money column (DESIGN §5); other numbers with a
    fraction are strings (JSON numbers with a fraction become floats in most readers); an
    encrypted kind is ``{"c": ciphertext, "h": keyed search hash}``, never the plaintext."""
    if value is None:
        return None
    if spec.kind in ENCRYPTED_KINDS:
        return encrypt(str(value))
    if spec.value_kind == "money":
        return minor_units(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def from_json(spec: FieldSpec, raw: Any, *, decrypt: Callable[[str], str] | None = None) -> Any:
    """A stored value back as its Python value (the plaintext of an encrypted kind only when
    ``decrypt`` is given; otherwise None)."""
    if raw is None:
        return None
    kind = spec.value_kind
    try:
        if spec.kind in ENCRYPTED_KINDS:
            return decrypt(raw["c"]) if decrypt is not None and isinstance(raw, dict) else None
        if kind == "integer":
            return int(raw)
        if kind == "money":
            return (Decimal(int(raw)) / 100).quantize(CENT)
        if kind in NUMERIC_KINDS:
            return Decimal(str(raw))
        if kind == "date":
            return date.fromisoformat(raw)
        if kind == "datetime":
            return datetime.fromisoformat(raw)
        if kind in ("user", "attachment", "link"):
            return uuid.UUID(raw)
    except (ValueError, TypeError, KeyError, InvalidOperation):
        return None
    return raw
