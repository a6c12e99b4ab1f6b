"""Normalising and validating personal data: resident ID numbers (居民身份证号), bank cards,
mainland mobile numbers, and free text (addresses, names).

``normalise`` gives the one form that is stored, hashed for search and masked, so that
``"138 0013 8000"`` and ``"+86 13800138000"`` are the same number. The validators raise
``ValidationFailed`` naming the field, so that the API answers 422 with the field's error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

from stdnum import luhn, numdb
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from loandesk.errors import ValidationFailed
from loandesk.i18n import N_

# What a personal field holds; decides how it is normalised, validated and masked.
PersonalKind = Literal["resident_id", "mobile", "bank_card", "address", "name", "text"]
KINDS: tuple[str, ...] = get_args(PersonalKind)

RESIDENT_ID_FORMAT = N_(
    "Enter the 18 characters of a resident ID number: 17 digits, then a digit or X."
)
RESIDENT_ID_CHECK_DIGIT = N_("This resident ID number's check digit is wrong.")
RESIDENT_ID_BIRTH_DATE = N_("This resident ID number does not contain a valid birth date.")
RESIDENT_ID_REGION = N_("This resident ID number has an unknown region code.")
BANK_CARD_FORMAT = N_("Enter a bank card number of 13 to 19 digits.")
BANK_CARD_CHECK_DIGIT = N_("This bank card number's check digit is wrong.")
MOBILE_FORMAT = N_("Enter an 11-digit mainland mobile number.")
SOME_FIELDS = N_("Some fields need attention.")

_SEPARATORS = re.compile(r"[\s\-]+")
_NON_DIGITS = re.compile(r"\D+")
_WHITESPACE = re.compile(r"\s+")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


@dataclass(frozen=True)
class ResidentId:
    """A valid resident ID number and what it says about its holder (useful to risk rules)."""

    number: str
    region_code: str  # 6 digits: where the number was issued (行政区划代码)
    birth_place: dict[str, str]  # e.g. {"province": "北京市", "county": "朝阳区"}
    birth_date: date
    sex: Literal["male", "female"]  # the order code is odd for men, even for women


def normalise(kind: str, value: str) -> str:
    """The canonical form of ``value``: what is stored, hashed for search and masked."""
    if kind == "resident_id":
        return _SEPARATORS.sub("", value).upper()
    if kind in ("mobile", "bank_card"):
        digits = _NON_DIGITS.sub("", value)
        if kind == "mobile" and len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]  # the country code: +86 138... is the same number
        return digits
    if kind in ("address", "name", "text"):
        return _WHITESPACE.sub(" ", value).strip()
    raise ValueError(f"unknown personal data kind {kind!r}")


def validate(kind: str, value: str, *, field: str) -> str:
    """The normalised value, or ``ValidationFailed`` naming ``field``. Free text (addresses,
    names, text) is only normalised."""
    if kind == "resident_id":
        return validate_resident_id(value, field=field).number
    if kind == "mobile":
        return validate_mobile(value, field=field)
    if kind == "bank_card":
        return validate_bank_card(value, field=field)
    return normalise(kind, value)


def validate_resident_id(
    value: str, *, field: str = "resident_id", today: date | None = None
) -> ResidentId:
    """An 18-character resident ID number (GB 11643): check digit, birth date (not in the
    future) and region code, through ``stdnum.cn.ric``."""
    number = normalise("resident_id", value)
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        raise _failed(field, RESIDENT_ID_FORMAT)
    if ric.calc_check_digit(number) != number[17]:
        raise _failed(field, RESIDENT_ID_CHECK_DIGIT)
    try:
        birth_date = ric.get_birth_date(number)
    except StdnumError:
        raise _failed(field, RESIDENT_ID_BIRTH_DATE) from None
    if birth_date > (today or date.today()):
        raise _failed(field, RESIDENT_ID_BIRTH_DATE)
    birth_place = _birth_place(number)
    if birth_place is None:
        raise _failed(field, RESIDENT_ID_REGION)
    return ResidentId(
        number=number,
        region_code=number[:6],
        birth_place=birth_place,
        birth_date=birth_date,
        sex="male" if int(number[16]) % 2 else "female",
    )


def _birth_place(number: str) -> dict[str, str] | None:
    try:
        return dict(ric.get_birth_place(number))
    except (StdnumError, KeyError):  # KeyError: the province is known, the county is not
        pass
    # stdnum also refuses a region code created after the birth year. But a number takes the
    # code of where it is first issued, often at 16: someone born in 1988 in Pudong can hold
    # 310115 (created in 1992). Any code that ever existed is accepted.
    parts = numdb.get("cn/loc").info(number[:6])
    info = {key: value for _part, props in parts for key, value in props.items()}
    if not info.get("county"):
        return None
    counties = [county.rpartition("]")[2] for county in info["county"].split(",")]
    return {**info, "county": counties[-1]}


def validate_bank_card(value: str, *, field: str = "bank_card") -> str:
    """A bank card number: 13 to 19 digits with a valid Luhn check digit."""
    if re.search(r"[^\d\s\-]", value):
        raise _failed(field, BANK_CARD_FORMAT)
    digits = normalise("bank_card", value)
    if not 13 <= len(digits) <= 19:
        raise _failed(field, BANK_CARD_FORMAT)
    if not luhn.is_valid(digits):
        raise _failed(field, BANK_CARD_CHECK_DIGIT)
    return digits


def validate_mobile(value: str, *, field: str = "mobile") -> str:
    """A mainland mobile number: 11 digits starting 13-19, with or without +86."""
    if re.search(r"[^\d\s\-+()]", value):
        raise _failed(field, MOBILE_FORMAT)
    digits = normalise("mobile", value)
    if not _MOBILE.match(digits):
        raise _failed(field, MOBILE_FORMAT)
    return digits


def _failed(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(SOME_FIELDS, errors={field: [message]})
