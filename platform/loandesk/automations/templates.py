"""Message texts of automations (to-do titles, SMS, …): Jinja templates rendered in a sandbox
with the record's fields. A template may name only the fields of its record type (and
``title``, the record's title, and ``today``); anything else is refused when the rule is saved,
with the names it got wrong."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from loandesk.fields.validation import message
from loandesk.i18n import N_

MAX_LENGTH = 2000
EXTRA_NAMES = ("title", "today")

# autoescape off: the texts are SMS, e-mail subjects and to-do titles, not HTML
_ENV = ImmutableSandboxedEnvironment(autoescape=False)


def problems(text: Any, names: Iterable[str]) -> list[str]:
    """What is wrong with ``text`` as a template over ``names`` (empty: nothing)."""
    if not isinstance(text, str) or not text.strip():
        return [message(N_("Enter a text."))]
    if len(text) > MAX_LENGTH:
        return [message(N_("Use at most %(limit)s characters."), limit=MAX_LENGTH)]
    try:
        parsed = _ENV.parse(text)
    except TemplateSyntaxError as problem:
        return [
            message(
                N_("The template cannot be read at line %(line)s: %(detail)s"),
                line=problem.lineno,
                detail=problem.message or "",
            )
        ]
    unknown = sorted(meta.find_undeclared_variables(parsed) - {*names, *EXTRA_NAMES})
    if unknown:
        return [
            message(
                N_("The template names %(names)s, which are not fields of this record."),
                names=", ".join(unknown),
            )
        ]
    return []


def render(text: str, values: Mapping[str, Any]) -> str:
    """``text`` with ``values``; a field left empty renders as nothing."""
    plain = {k: ("" if v is None else v) for k, v in values.items()}
    return _ENV.from_string(text).render(plain)
