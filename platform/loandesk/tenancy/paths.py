"""Addresses of a tenant's pages built without ``url_for`` (links in messages and jobs, redirect
URIs registered at a provider): ``/t/<slug>/...``, or without the prefix in single-tenant mode
(``LOANDESK_SINGLE_TENANT``)."""

from __future__ import annotations

from loandesk import extension

PREFIX = "/t/"


def single_tenant() -> str:
    """The slug of single-tenant mode, or "" in the (default) multi-tenant mode."""
    return extension.get().settings.single_tenant


def page_path(slug: str, path: str = "/") -> str:
    """The path of tenant ``slug``'s page ``path`` (``/login``): ``/t/<slug>/login``, or
    ``/login`` in single-tenant mode."""
    if not path.startswith("/"):
        raise ValueError(f"a page path starts with /: {path!r}")
    return path if single_tenant() else f"{PREFIX}{slug}{path}"


def page_url(slug: str, path: str = "/") -> str:
    """``page_path`` on the install's public address (``LOANDESK_BASE_URL``)."""
    return extension.get().settings.base_url.rstrip("/") + page_path(slug, path)


def unprefixed(path: str) -> str:
    """``path`` as callers write it in the multi-tenant layout (``/t/<slug>/...``), without
    the prefix in single-tenant mode when ``slug`` is the install's tenant."""
    slug = single_tenant()
    own = f"{PREFIX}{slug}"
    if slug and (path == own or path.startswith(own + "/")):
        return path[len(own) :] or "/"
    return path
