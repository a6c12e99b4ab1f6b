"""Values of fields, kind by kind: what each kind accepts, how it is normalised, what it
refuses (with the message staff see), and how a custom value is kept in JSON."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from loandesk.fields.registry import FieldSpec
from loandesk.fields.values import Context, Invalid, from_json, parse, to_json

OPTIONS = (
    ("car", "购车", "Car"),
    ("house", "装修", "Home improvement"),
    ("edu", "教育", "Education"),
)


def spec(kind: str, **rules: Any) -> FieldSpec:
    return FieldSpec("f", "字段", "Field", kind, custom=True, **rules)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "raw", "value"),
    [
        (spec("money"), "8,500.5", Decimal("8500.50")),
        (spec("money"), 12000, Decimal("12000.00")),
        (spec("decimal", places=4), "0.1234", Decimal("0.1234")),
        (spec("percent"), "12.5%", Decimal("12.5000")),
        (spec("integer", minimum="1", maximum="360"), "36", 36),
        (spec("date"), "2026/03/01", date(2026, 3, 1)),
        (spec("date"), datetime(2026, 3, 1, 8, 0), date(2026, 3, 1)),
        (spec("datetime"), "2026-03-01 09:30", datetime(2026, 3, 1, 1, 30, tzinfo=UTC)),
        (spec("datetime"), "2026-03-01T09:30:00+00:00", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        (spec("select", options=OPTIONS), "购车", "car"),
        (spec("select", options=OPTIONS), "house", "house"),
        (spec("multi_select", options=OPTIONS), "教育、购车", ["car", "edu"]),
        (spec("multi_select", options=OPTIONS), ["edu", "car", "edu"], ["car", "edu"]),
        (spec("boolean"), "是", True),
        (spec("boolean"), "false", False),
        (spec("mobile"), "+86 138-0013-8000", "13800138000"),
        (spec("resident_id"), "11010519491231002x", "11010519491231002X"),
        (spec("bank_card"), "6222 0202 0011 2233 446", "6222020200112233446"),
        (spec("email"), "Li.Lei@Example.CN", "Li.Lei@example.cn"),
        (spec("text", max_length=10, pattern=r"[A-Z]{2}\d+"), " AB123 ", "AB123"),
        (spec("region"), "440305", "440305"),
        (spec("region"), "广东省/深圳市/南山区", "440305"),
        (spec("text"), "   ", None),
    ],
)
def test_accepted_values(field: FieldSpec, raw: Any, value: Any) -> None:
    assert parse(field, raw, Context(timezone="Asia/Shanghai")) == value


@pytest.mark.parametrize(
    ("field", "raw", "message"),
    [
        (spec("money"), 12.5, 'Send numbers with a fraction as text, e.g. "8500.00".'),
        (spec("money"), "12.345", "Use at most 2 decimal places."),
        (spec("money"), "-1", "Enter 0 or more."),
        (spec("money", maximum="500000"), "500000.01", "Enter 500000 or less."),
        (spec("integer"), "1.5", "Enter a whole number."),
        (spec("integer"), "many", "Enter a number, e.g. 8500.00."),
        (spec("integer"), True, 'Send numbers with a fraction as text, e.g. "8500.00".'),
        (spec("percent"), "101", "Enter 100 or less."),
        (spec("date", minimum="2026-01-01"), "2025-12-31", "Enter 2026-01-01 or later."),
        (spec("date"), "31/12/2025", "Enter a date as YYYY-MM-DD, e.g. 2026-03-01."),
        (spec("select", options=OPTIONS), "yacht", "Choose one of the options."),
        (spec("multi_select", options=OPTIONS), "car,yacht", "Choose one of the options."),
        (spec("boolean"), "maybe", "Choose yes or no."),
        (spec("mobile"), "1380013800", "Enter an 11-digit mainland mobile number."),
        (
            spec("resident_id"),
            "110105194912310021",
            "This resident ID number's check digit is wrong.",
        ),
        (spec("bank_card"), "6222020200112233445", "This bank card number's check digit is wrong."),
        (spec("email"), "li.lei@", "Enter an e-mail address, e.g. name@example.com."),
        (spec("text", max_length=5), "abcdef", "Use at most 5 characters."),
        (spec("text", pattern=r"\d+"), "12a", "This does not have the expected format."),
        (spec("text"), ["a"], "Enter text."),
        (spec("region"), "999999", "Choose a province, city and district."),
        (spec("user"), "nobody", "Choose a staff member."),
        (spec("computed"), "1", "This field is computed; it cannot be entered."),
    ],
)
def test_refused_values(field: FieldSpec, raw: Any, message: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse(field, raw)
    assert str(refused.value) == message


def test_a_user_and_a_linked_record_must_exist() -> None:
    known = uuid.uuid4()
    context = Context(
        user_exists=lambda ident: ident == known,
        record_exists=lambda record_type, ident: record_type == "customer" and ident == known,
        users_by_name={"李雷": known},
    )
    assert parse(spec("user"), "李雷", context) == known
    assert parse(spec("user"), str(known), context) == known
    with pytest.raises(Invalid, match=r"Choose an active staff member\."):
        parse(spec("user"), str(uuid.uuid4()), context)
    assert parse(spec("link", link_type="customer"), str(known), context) == known
    with pytest.raises(Invalid, match=r"No such record\."):
        parse(spec("link", link_type="customer"), str(uuid.uuid4()), context)


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        (spec("money"), Decimal("8500.50"), 850050),  # 分, as every money column
        (spec("decimal", places=4), Decimal("0.1234"), "0.1234"),
        (spec("integer"), 36, 36),
        (spec("date"), date(2026, 3, 1), "2026-03-01"),
        (spec("datetime"), datetime(2026, 3, 1, 1, 30, tzinfo=UTC), "2026-03-01T01:30:00+00:00"),
        (spec("multi_select", options=OPTIONS), ["car", "edu"], ["car", "edu"]),
        (spec("boolean"), False, False),
    ],
)
def test_json_round_trip_keeps_amounts_exact(field: FieldSpec, value: Any, stored: Any) -> None:
    def no_encryption(_: str) -> dict[str, str]:
        raise AssertionError("not a personal kind")

    assert to_json(field, value, encrypt=no_encryption) == stored
    assert from_json(field, stored) == value


def test_a_personal_kind_is_stored_as_ciphertext_and_hash() -> None:
    stored = to_json(
        spec("mobile"), "13800138000", encrypt=lambda v: {"c": "x" + v[::-1], "h": "h"}
    )
    assert stored == {"c": "x00083100831", "h": "h"}
    assert from_json(spec("mobile"), stored) is None  # no plaintext without decrypting
    assert from_json(spec("mobile"), stored, decrypt=lambda t: t[1:][::-1]) == "13800138000"
