"""Terms as JSON-safe dicts and back, for storing a product version's or a loan's terms
(``JSONValues`` columns) and for the API: amounts and rates as strings, dates as ISO text,
enums as their values. Reading back is strict: an unknown key or a bad value is a
``ValueError`` naming it, never a silent default."""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
import uuid
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from loandesk.finance.terms import ProductTerms, Terms


def to_dict(value: Any) -> Any:
    """``value`` (a terms dataclass or anything inside one) as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_dict(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, frozenset):
        return sorted(to_dict(v) for v in value)
    if isinstance(value, tuple | list):
        return [to_dict(v) for v in value]
    return value


def terms_from_dict(data: dict[str, Any]) -> Terms:
    return _build(Terms, data, "")


def product_terms_from_dict(data: dict[str, Any]) -> ProductTerms:
    return _build(ProductTerms, data, "")


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{where or cls.__name__}: expected an object")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{where}{sorted(unknown)[0]}: unknown key")
    values = {name: _value(hints[name], data[name], f"{where}{name}") for name in data}
    try:
        return cls(**values)
    except TypeError as error:
        raise ValueError(f"{where or cls.__name__}: {error}") from None


def _value(hint: Any, raw: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if raw is None:
            return None
        return _value(options[0], raw, where)
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return tuple(_value(item, v, f"{where}.{i}") for i, v in enumerate(_list(raw, where)))
    if origin is frozenset:
        item = typing.get_args(hint)[0]
        return frozenset(_value(item, v, f"{where}.{i}") for i, v in enumerate(_list(raw, where)))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, raw, f"{where}.")
    if hint is object:  # an id
        return uuid.UUID(str(raw)) if raw is not None else None
    try:
        if isinstance(hint, type) and issubclass(hint, Enum):
            return hint(raw)
        if hint is Decimal:
            if isinstance(raw, float | bool):
                raise ValueError
            return Decimal(str(raw))
        if hint is dt.date:
            return dt.date.fromisoformat(raw)
        if hint is bool:
            if not isinstance(raw, bool):
                raise ValueError
            return raw
        if hint is int:
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise ValueError
            return raw
        if hint is str:
            if not isinstance(raw, str):
                raise ValueError
            return raw
    except (ValueError, TypeError, InvalidOperation):
        raise ValueError(f"{where}: not a valid value") from None
    raise ValueError(f"{where}: cannot read {hint!r}")


def _list(raw: Any, where: str) -> list[Any]:
    if not isinstance(raw, list):
        raise ValueError(f"{where}: expected a list")
    return raw
