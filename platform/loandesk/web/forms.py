"""Field errors of a submitted form, translated for display next to each field."""

from __future__ import annotations

from flask_babel import gettext

from loandesk.errors import DomainError


class FormErrors:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}
        self.form: list[str] = []

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def update(self, error: DomainError, rename: dict[str, str] | None = None) -> None:
        """Take a service error's field problems (message ids), translated."""
        rename = rename or {}
        for field, messages in error.errors.items():
            for message in messages:
                self.add(rename.get(field, field), gettext(message))
        if not error.errors or error.params:
            self.form.append(gettext(error.message, **error.params))

    def get(self, field: str) -> list[str]:
        return self.fields.get(field, [])

    def __bool__(self) -> bool:
        return bool(self.fields or self.form)
