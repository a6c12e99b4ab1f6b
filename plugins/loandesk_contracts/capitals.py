"""Amounts in Chinese capitals (大写金额), as the People's Bank of China's rules for payment
documents (《支付结算办法》附件《正确填写票据和结算凭证的基本规定》) write them:
¥1,409.50 → 壹仟肆佰零玖元伍角, ¥325.04 → 叁佰贰拾伍元零肆分, ¥16.00 → 壹拾陆元整.

Where the rules allow either (a zero in the 元 or 万 place before a non-zero 角 or 仟), the
shorter form without 零 is written; 整 follows 元 only (after 角 it may be left out)."""

from __future__ import annotations

from decimal import Decimal

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")
SECTIONS = ("", "万", "亿")  # every four digits; amounts from 1万亿 on are refused
LIMIT = Decimal(10) ** 12


def _section(value: int) -> str:
    """A number 1-9999 in capitals, with one 零 for any run of zeros between digits."""
    out, zero = "", False
    for place in range(3, -1, -1):
        digit = value // 10**place % 10
        if digit == 0:
            zero = zero or bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += DIGITS[digit] + PLACES[place]
    return out


def _integer(value: int) -> str:
    groups = [(value // 10 ** (4 * i)) % 10000 for i in range(len(SECTIONS))]
    out, zero = "", False
    for index in range(len(SECTIONS) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero = zero or bool(out)
            continue
        # a section after a higher one that does not fill its thousands place starts with 零
        if out and (zero or group < 1000):
            out += "零"
        out += _section(group) + SECTIONS[index]
        zero = False
    return out


def amount_in_capitals(amount: Decimal) -> str:
    """``amount`` (yuan, at most two decimal places, 0 to under 1万亿) in Chinese capitals;
    ``ValueError`` otherwise."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValueError("an amount is a finite Decimal")
    if amount < 0 or amount >= LIMIT:
        raise ValueError("amounts in capitals run from 0 to under 1万亿")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("an amount has at most two decimal places")
    cents = int(amount * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    if cents == 0:
        return "零元整"
    out = _integer(yuan) + "元" if yuan else ""
    if jiao == 0 and fen == 0:
        return out + "整"
    if jiao:
        out += DIGITS[jiao] + "角"
    elif yuan:
        out += "零"  # ¥325.04: the zero 角 between 元 and 分 must be written
    if fen:
        out += DIGITS[fen] + "分"
    return out
