"""What a plugin declares about itself, and the plain data its hooks return to the core."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import marshmallow as ma

if TYPE_CHECKING:
    from flask import Blueprint
    from flask_smorest import Blueprint as ApiBlueprint

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


@dataclass(frozen=True)
class PluginInfo:
    """A plugin's metadata: the module named by its ``loandesk.plugins`` entry point holds one
    as ``PLUGIN``.

    ``name`` equals the entry point's name (lowercase letters, digits, underscores); it
    namespaces everything the plugin contributes (blueprints, permissions, jobs, events).
    ``settings_schema`` is a marshmallow schema of the per-tenant settings; a field with
    ``metadata={"secret": True}`` is stored encrypted and never shown again.
    """

    name: str
    title_zh: str
    title_en: str
    version: str
    description_zh: str = ""
    description_en: str = ""
    depends_on: tuple[str, ...] = ()
    settings_schema: type[ma.Schema] | None = None

    def title(self, locale: str) -> str:
        return self.title_zh if locale.startswith("zh") else self.title_en

    def description(self, locale: str) -> str:
        return self.description_zh if locale.startswith("zh") else self.description_en

    def secret_fields(self) -> frozenset[str]:
        if self.settings_schema is None:
            return frozenset()
        fields = self.settings_schema().fields
        return frozenset(n for n, f in fields.items() if f.metadata.get("secret"))


@dataclass(frozen=True)
class NavCount:
    """A number shown as a badge beside a nav entry (what waits for the user there).
    ``label`` says what it counts, already translated ("3 to do"), for the tooltip and screen
    readers; a ``muted`` count is secondary (unread CCs beside the to-dos)."""

    value: int
    label: str
    muted: bool = False


@dataclass(frozen=True)
class NavItem:
    """An entry of the web UI's navigation. ``endpoint`` is a Flask endpoint of a tenant page
    (a plugin's are ``tenant.<plugin>.<view>``). ``counts``, when given, is called with the
    signed-in user at most once per page, only when the navigation is drawn: each non-zero
    ``NavCount`` it returns shows as a badge. Keep it to one cheap query."""

    endpoint: str
    label_zh: str
    label_en: str
    section: str = "modules"  # one of SECTIONS
    permission: str | None = None  # shown only to users who hold it
    order: int = 100
    counts: Callable[[Any], Sequence[NavCount]] | None = None
    # beyond ``permission``: shown only when this says so for the signed-in user
    shown: Callable[[Any], bool] | None = None

    def label(self, locale: str) -> str:
        return self.label_zh if locale.startswith("zh") else self.label_en


@dataclass(frozen=True)
class ProfileRow:
    """A row of a ``ProfileSection``: its cells as text, and the page it opens, if any."""

    cells: tuple[str, ...]
    url: str | None = None


@dataclass(frozen=True)
class ProfileSection:
    """A section of a customer's 360° page (``loandesk_customer_360_sections``): a titled
    table of rows (``columns`` are the headers as (中文, English) pairs), shown with
    ``empty_zh``/``empty_en`` when it has no row."""

    key: str
    title_zh: str
    title_en: str
    columns: tuple[tuple[str, str], ...] = ()
    rows: tuple[ProfileRow, ...] = ()
    order: int = 100
    empty_zh: str = "暂无记录"
    empty_en: str = "Nothing yet."

    def title(self, locale: str) -> str:
        return self.title_zh if locale.startswith("zh") else self.title_en

    def empty(self, locale: str) -> str:
        return self.empty_zh if locale.startswith("zh") else self.empty_en

    def headers(self, locale: str) -> list[str]:
        return [zh if locale.startswith("zh") else en for zh, en in self.columns]


# Navigation sections, in their order on screen, with their labels.
SECTIONS: dict[str, tuple[str, str]] = {
    "workspace": ("工作台", "Workspace"),
    "modules": ("业务", "Business"),
    "administration": ("系统管理", "Administration"),
}


@dataclass(frozen=True)
class Permission:
    """A permission, namespaced by its module: ``loan.disburse``, ``collections.assign``.
    A plugin's permissions start with its name and a dot. ``default_roles`` names built-in
    roles (``credit_officer``, ``collector``, ...) that get it when a tenant enables the
    plugin; admins may change that afterwards."""

    name: str
    label_zh: str
    label_en: str
    default_roles: tuple[str, ...] = ()

    def label(self, locale: str) -> str:
        return self.label_zh if locale.startswith("zh") else self.label_en


@dataclass
class Contributions:
    """What one plugin contributed at start-up, checked and attributed by the host."""

    web_blueprints: list[Blueprint] = field(default_factory=list)
    event_types: list[Any] = field(default_factory=list)
    event_handlers: list[Any] = field(default_factory=list)
    jobs: list[Any] = field(default_factory=list)
    schedules: list[Any] = field(default_factory=list)
    migrations: str | None = None
    api_blueprints: list[ApiBlueprint] = field(default_factory=list)
    nav_items: list[NavItem] = field(default_factory=list)
    permissions: list[Permission] = field(default_factory=list)
    record_types: list[Any] = field(default_factory=list)
    retention_subjects: list[Any] = field(default_factory=list)
    automation_actions: list[Any] = field(default_factory=list)
    notification_channels: list[Any] = field(default_factory=list)
    report_datasets: list[Any] = field(default_factory=list)
    builtin_reports: list[Any] = field(default_factory=list)
    bundle_files: list[Any] = field(default_factory=list)
