"""Amounts in Chinese capitals (大写金额): the examples of the People's Bank of China's rules
for filling in payment documents (《正确填写票据和结算凭证的基本规定》) and the edges."""

from __future__ import annotations

from decimal import Decimal

import pytest
from loandesk_contracts.capitals import amount_in_capitals


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        # the rules' own examples
        ("1409.50", "壹仟肆佰零玖元伍角"),
        ("6007.14", "陆仟零柒元壹角肆分"),
        ("325.04", "叁佰贰拾伍元零肆分"),
        ("16.00", "壹拾陆元整"),
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
        ("107000.53", "壹拾万柒仟元伍角叁分"),
        # zeros inside and across the 万 and 亿 sections: one 零 for a run
        ("100010.00", "壹拾万零壹拾元整"),
        ("10000100.00", "壹仟万零壹佰元整"),
        ("100000001.00", "壹亿零壹元整"),
        ("100000000.00", "壹亿元整"),
        ("120000000.07", "壹亿贰仟万元零柒分"),
        ("12000.00", "壹万贰仟元整"),
        ("200000.00", "贰拾万元整"),
        ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        # under a yuan
        ("0.50", "伍角"),
        ("0.05", "伍分"),
        ("0.00", "零元整"),
    ],
)
def test_amounts_are_written_as_the_payment_rules_say(amount: str, words: str) -> None:
    assert amount_in_capitals(Decimal(amount)) == words


@pytest.mark.parametrize("amount", ["-1.00", "1.005", "1000000000000.00", "NaN"])
def test_amounts_it_cannot_write_are_refused(amount: str) -> None:
    with pytest.raises(ValueError):
        amount_in_capitals(Decimal(amount))


def test_floats_are_refused() -> None:
    with pytest.raises(ValueError):
        amount_in_capitals(1.5)  # type: ignore[arg-type]
