"""Contract templates rendered in Jinja's sandbox: the template is written by a tenant admin,
who is not trusted with code execution (no attribute starting with ``_``, no unsafe calls,
ranges capped), and sees only plain values prepared here (``document_values``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from loandesk.sdk import N_, ValidationFailed, message
from loandesk_contracts.capitals import amount_in_capitals

DEFAULTS = Path(__file__).parent / "defaults"
MAX_TEMPLATE = 200_000  # characters of body or CSS


def default_body() -> str:
    return (DEFAULTS / "contract.html").read_text(encoding="utf-8")


def default_css() -> str:
    return (DEFAULTS / "contract.css").read_text(encoding="utf-8")


def money(value: Any) -> str:
    """12000 → 12,000.00"""
    return f"{Decimal(value).quantize(Decimal('0.01'), ROUND_HALF_UP):,}"


def percent(value: Any, places: int = 2) -> str:
    """0.126825 → 12.68%"""
    step = Decimal(1).scaleb(-int(places))
    return f"{(Decimal(value) * 100).quantize(step, ROUND_HALF_UP)}%"


def capitals(value: Any) -> str:
    return amount_in_capitals(Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP))


def date_cn(value: Any) -> str:
    """2026-01-15 → 2026年1月15日"""
    if not isinstance(value, dt.date):
        return str(value or "")
    return f"{value.year}年{value.month}月{value.day}日"


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=True)
    env.filters.update(money=money, percent=percent, capitals=capitals, date_cn=date_cn)
    return env


ENV = _environment()


def render(body: str, values: Mapping[str, Any], *, field: str = "body") -> str:
    """The template ``body`` rendered with ``values``; ``ValidationFailed`` naming ``field``
    with Jinja's complaint (a syntax error, an unsafe access, an unknown filter)."""
    if len(body) > MAX_TEMPLATE:
        raise ValidationFailed(
            N_("The template cannot be used."),
            errors={
                field: [message(N_("Enter at most %(count)s characters."), count=MAX_TEMPLATE)]
            },
        )
    try:
        return ENV.from_string(body).render(**values)
    except (TemplateError, ValueError, ArithmeticError, TypeError) as problem:
        line = getattr(problem, "lineno", None)
        detail = f"{type(problem).__name__}: {problem}"[:300]
        if line:
            detail = f"line {line}: {detail}"
        raise ValidationFailed(
            N_("The template cannot be used."),
            errors={field: [message(N_("The template fails: %(detail)s"), detail=detail)]},
        ) from None


def check_css(css: str) -> None:
    if len(css) > MAX_TEMPLATE:
        raise ValidationFailed(
            N_("The template cannot be used."),
            errors={
                "css": [message(N_("Enter at most %(count)s characters."), count=MAX_TEMPLATE)]
            },
        )
