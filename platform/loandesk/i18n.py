"""Translation helpers that need no Flask, for the service layer.

``N_`` marks a message id for extraction and returns it unchanged; the web and API layers
translate it with the request's locale when they render it.
"""

from __future__ import annotations

LOCALES = ("zh_CN", "en")


def N_(message: str) -> str:
    return message


def normalise_locale(value: str | None) -> str | None:
    """``zh-CN``, ``zh_cn``, ``zh`` → ``zh_CN``; ``en-US`` → ``en``; unknown → None."""
    if not value:
        return None
    value = value.replace("-", "_").strip()
    if value.lower().startswith("zh"):
        return "zh_CN"
    if value.lower().startswith("en"):
        return "en"
    return None
