"""Masked display of personal data (脱敏), for viewers whose field permission says "masked".

Pure functions of the value: they never fail, and a value that is not of the expected shape
falls back to ``mask_text``, which hides most of it.
"""

from __future__ import annotations

import re

from loandesk.pii.validation import normalise

# Province level: the four municipalities, provinces, autonomous regions, Hong Kong and Macao;
# then the city level: cities, autonomous prefectures, prefectures and leagues. Street-level
# characters are refused in a name, so that "…路超市" is never taken for a city.
_NAME = r"[^省市区县旗镇乡村路街道巷号栋楼室\s\d]"
_PROVINCE = rf"{_NAME}{{2,8}}?(?:省|自治区|特别行政区)"
_CITY = rf"{_NAME}{{1,8}}?(?:自治州|地区|盟|市)"
_ADDRESS_PREFIX = re.compile(rf"^(?:(?:北京|天津|上海|重庆)市|{_PROVINCE}(?:{_CITY})?|{_CITY})")


def mask(kind: str, value: str) -> str:
    """Mask ``value`` as its kind says (see ``loandesk.pii.validation.KINDS``)."""
    masker = _MASKERS.get(kind, mask_text)
    return masker(value)


def mask_resident_id(value: str) -> str:
    """``110***********1234``: the region's first 3 characters and the last 4."""
    number = normalise("resident_id", value)
    return _keep_ends(number, 3, 4) if len(number) >= 12 else mask_text(number)


def mask_mobile(value: str) -> str:
    """``138****5678``: the carrier prefix and the last 4 digits."""
    digits = normalise("mobile", value)
    return _keep_ends(digits, 3, 4) if len(digits) >= 10 else mask_text(digits)


def mask_bank_card(value: str) -> str:
    """``6222 **** **** 1234``: the issuer's first 4 digits and the last 4, in the same shape
    whatever the length (the length says something about the card)."""
    digits = normalise("bank_card", value)
    if len(digits) < 12:
        return mask_text(digits)
    return f"{digits[:4]} **** **** {digits[-4:]}"


def mask_address(value: str) -> str:
    """``广东省深圳市****``: the province and city, the rest hidden."""
    address = normalise("address", value)
    match = _ADDRESS_PREFIX.match(address)
    if match is None:  # not a mainland address we can read: a little of its start only
        return address[: min(6, len(address) // 4)] + "****" if address else ""
    prefix = match.group(0)
    return prefix + "****" if len(address) > len(prefix) else prefix


def mask_name(value: str) -> str:
    """``张*`` for two characters, ``张*三`` or ``欧**锋`` for more: first and last kept."""
    name = normalise("name", value)
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_text(value: str) -> str:
    """The fallback: a quarter at each end kept (at least one character), the rest hidden;
    a single character is hidden, of two the first is kept."""
    text = value.strip()
    if len(text) <= 2:
        return text[:-1] + "*" if text else ""
    keep = max(1, len(text) // 4)
    return _keep_ends(text, keep, keep)


def _keep_ends(value: str, head: int, tail: int) -> str:
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


_MASKERS = {
    "resident_id": mask_resident_id,
    "mobile": mask_mobile,
    "bank_card": mask_bank_card,
    "address": mask_address,
    "name": mask_name,
    "text": mask_text,
}
