"""The plugin host of one app: finds plugins, checks what they contribute, and calls hooks for
the plugins a tenant has enabled."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

from loandesk.plugins import hookspecs
from loandesk.plugins.info import (
    NAME_PATTERN,
    SECTIONS,
    Contributions,
    NavItem,
    Permission,
    PluginInfo,
)

ENTRY_POINT_GROUP = "loandesk.plugins"


class PluginError(RuntimeError):
    """A plugin is malformed; the app refuses to start and names it."""


class PluginHost:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("loandesk")
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.contributions: dict[str, Contributions] = {}
        self._blueprint_owner: dict[str, str] = {}
        self._subset_callers: dict[tuple[frozenset[str], str], Any] = {}

    # --- finding and registering ------------------------------------------------------------

    def discover(self) -> None:
        """Register every plugin of the ``loandesk.plugins`` entry-point group."""
        for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                module = entry_point.load()
            except Exception as exc:
                raise PluginError(f"plugin {entry_point.name!r} failed to import: {exc}") from exc
            self.register(module, entry_name=entry_point.name)

    def register(self, module: ModuleType | object, entry_name: str | None = None) -> PluginInfo:
        info = getattr(module, "PLUGIN", None)
        label = entry_name or getattr(module, "__name__", repr(module))
        if not isinstance(info, PluginInfo):
            raise PluginError(f"plugin {label!r} has no PLUGIN = PluginInfo(...)")
        if not NAME_PATTERN.match(info.name):
            raise PluginError(f"plugin name {info.name!r}: use 2-40 lowercase letters, digits, _")
        if entry_name is not None and entry_name != info.name:
            raise PluginError(f"entry point {entry_name!r} names plugin {info.name!r}")
        if info.name in self.infos:
            raise PluginError(f"two plugins are named {info.name!r}")
        self.pm.register(module, name=info.name)
        self.infos[info.name] = info
        return info

    def check_dependencies(self) -> None:
        for info in self.infos.values():
            missing = [d for d in info.depends_on if d not in self.infos]
            if missing:
                raise PluginError(f"plugin {info.name!r} needs {', '.join(missing)}, not installed")
        for name in self.infos:
            self._check_cycle(name, ())

    def _check_cycle(self, name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise PluginError("plugins depend on each other in a circle: " + " → ".join(path))
        for dependency in self.infos[name].depends_on:
            self._check_cycle(dependency, (*path, name))

    def requirements(self, name: str) -> list[str]:
        """Every plugin ``name`` needs, directly or not."""
        seen: list[str] = []
        for dependency in self.infos[name].depends_on:
            for item in (*self.requirements(dependency), dependency):
                if item not in seen:
                    seen.append(item)
        return seen

    def dependants(self, name: str) -> list[str]:
        """Every plugin that needs ``name``, directly or not."""
        return sorted(n for n in self.infos if name in self.requirements(n))

    # --- start-up contributions -------------------------------------------------------------

    def collect(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call one hook of every plugin, keeping who returned what."""
        results = []
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            args = {name: kwargs[name] for name in impl.argnames}
            result = impl.function(**args)
            if result is not None:
                results.append((impl.plugin_name, result))
        return results

    def gather(self) -> None:
        """Collect and check the start-up contributions of every plugin."""
        self.check_dependencies()
        for name in self.infos:
            self.contributions[name] = Contributions()
        for name, folder in self.collect("loandesk_migrations"):
            if not Path(folder).is_dir():
                raise PluginError(f"plugin {name!r}: migrations folder {folder!r} does not exist")
            self.contributions[name].migrations = str(folder)
        for name, blueprints in self.collect("loandesk_web_blueprints"):
            for bp in _as_list(blueprints, Blueprint, name, "loandesk_web_blueprints"):
                self._own_blueprint(name, bp, f"tenant.{name}")
                self.contributions[name].web_blueprints.append(bp)
        for name, blueprints in self.collect("loandesk_api_blueprints"):
            for bp in _as_list(blueprints, ApiBlueprint, name, "loandesk_api_blueprints"):
                self._own_blueprint(name, bp, name)
                self.contributions[name].api_blueprints.append(bp)
        for name, items in self.collect("loandesk_nav_items"):
            for item in _as_list(items, NavItem, name, "loandesk_nav_items"):
                if not item.endpoint.startswith(f"tenant.{name}.") or item.section not in SECTIONS:
                    raise PluginError(
                        f"plugin {name!r}: nav item {item.endpoint!r} must point at "
                        f"tenant.{name}.<view> and use a section of {sorted(SECTIONS)}"
                    )
                self.contributions[name].nav_items.append(item)
        for name, permissions in self.collect("loandesk_permissions"):
            for permission in _as_list(permissions, Permission, name, "loandesk_permissions"):
                if not permission.name.startswith(f"{name}."):
                    raise PluginError(
                        f"plugin {name!r}: permission {permission.name!r} must start with '{name}.'"
                    )
                self.contributions[name].permissions.append(permission)

        self._gather_record_types()
        self._gather_bundle_files()

        from loandesk.events import EventHandler, EventType
        from loandesk.jobs import JobSpec

        for name, types in self.collect("loandesk_event_types"):
            self.contributions[name].event_types.extend(
                _as_list(types, EventType, name, "loandesk_event_types")
            )
        for name, handlers in self.collect("loandesk_event_handlers"):
            self.contributions[name].event_handlers.extend(
                _as_list(handlers, EventHandler, name, "loandesk_event_handlers")
            )
        for name, jobs in self.collect("loandesk_jobs"):
            for spec in _as_list(jobs, JobSpec, name, "loandesk_jobs"):
                if not spec.name.startswith(f"{name}."):
                    raise PluginError(
                        f"plugin {name!r}: job {spec.name!r} must start with '{name}.'"
                    )
                self.contributions[name].jobs.append(spec)
        from loandesk.jobs.schedules import Schedule

        for name, schedules in self.collect("loandesk_schedules"):
            for schedule in _as_list(schedules, Schedule, name, "loandesk_schedules"):
                if not schedule.name.startswith(f"{name}."):
                    raise PluginError(
                        f"plugin {name!r}: schedule {schedule.name!r} must start with '{name}.'"
                    )
                self.contributions[name].schedules.append(schedule)
        self._gather_retention_subjects()
        from loandesk.automations.rules import ActionType

        for name, actions in self.collect("loandesk_automation_actions"):
            for action in _as_list(actions, ActionType, name, "loandesk_automation_actions"):
                if not action.key.startswith(f"{name}."):
                    raise PluginError(
                        f"plugin {name!r}: automation action {action.key!r} must start "
                        f"with '{name}.'"
                    )
                self.contributions[name].automation_actions.append(action)
        self._gather_report_datasets()
        self._gather_builtin_reports()
        self.gather_notification_channels()

    def gather_notification_channels(self) -> None:
        """Collect the channels of ``loandesk_notification_channels`` (again: a plugin
        registered after start-up, as tests do, is collected too). Several plugins may give
        the same key (two SMS providers), a tenant enables only one of them (``rivals``)."""
        from loandesk.notifications.channels import CORE_CHANNELS, Channel

        for name in self.infos:
            self.contributions.setdefault(name, Contributions()).notification_channels = []
        for name, channels in self.collect("loandesk_notification_channels"):
            seen = {c.key for c in CORE_CHANNELS}
            for channel in _as_list(channels, Channel, name, "loandesk_notification_channels"):
                if channel.key in seen:
                    raise PluginError(
                        f"plugin {name!r}: notification channel {channel.key!r} is given twice "
                        "or is the core's"
                    )
                seen.add(channel.key)
                self.contributions[name].notification_channels.append(channel)

    def rivals(self, name: str, enabled: Iterable[str]) -> list[str]:
        """The ``enabled`` plugins that give a notification channel with a key ``name`` gives
        too: a tenant sends through one plugin per channel key."""
        keys = {c.key for c in self.notification_channels([name])}
        return sorted(
            n
            for n in enabled
            if n != name and keys & {c.key for c in self.notification_channels([n])}
        )

    def _gather_retention_subjects(self) -> None:
        from loandesk.pii.retention import RetentionSubject

        seen: set[str] = set()
        for name, subjects in self.collect("loandesk_retention_subjects"):
            for subject in _as_list(
                subjects, RetentionSubject, name, "loandesk_retention_subjects"
            ):
                problems = subject.problems()
                if not subject.key.startswith(f"{name}."):
                    problems.append(f"retention subject {subject.key!r} must start with '{name}.'")
                if subject.key in seen:
                    problems.append(f"two retention subjects are keyed {subject.key!r}")
                if problems:
                    raise PluginError(f"plugin {name!r}: " + "; ".join(problems))
                seen.add(subject.key)
                self.contributions[name].retention_subjects.append(subject)

    def _gather_report_datasets(self) -> None:
        from loandesk.reports import Dataset

        types = {t.key: t for c in self.contributions.values() for t in c.record_types}
        seen: set[str] = set()
        for name, datasets in self.collect("loandesk_report_datasets"):
            for dataset in _as_list(datasets, Dataset, name, "loandesk_report_datasets"):
                problems = dataset.problems(types.get(dataset.record_type))
                if not dataset.key.startswith(f"{name}."):
                    problems.append(f"dataset {dataset.key!r} must start with '{name}.'")
                if dataset.record_type not in types:
                    problems.append(
                        f"dataset {dataset.key!r}: no record type {dataset.record_type!r}"
                    )
                if dataset.key in seen:
                    problems.append(f"two datasets are keyed {dataset.key!r}")
                if problems:
                    raise PluginError(f"plugin {name!r}: " + "; ".join(problems))
                seen.add(dataset.key)
                self.contributions[name].report_datasets.append(dataset)

    def _gather_builtin_reports(self) -> None:
        """The built-in reports, each checked against its dataset (of any plugin)."""
        from loandesk.reports.builtin import BuiltinReport

        types = {t.key: t for c in self.contributions.values() for t in c.record_types}
        datasets = {d.key: d for c in self.contributions.values() for d in c.report_datasets}
        seen: set[str] = set()
        for name, reports in self.collect("loandesk_builtin_reports"):
            for report in _as_list(reports, BuiltinReport, name, "loandesk_builtin_reports"):
                problems = report.problems(datasets, types)
                if not report.key.startswith(f"{name}."):
                    problems.append(f"built-in report {report.key!r} must start with '{name}.'")
                if report.key in seen:
                    problems.append(f"two built-in reports are keyed {report.key!r}")
                if problems:
                    raise PluginError(f"plugin {name!r}: " + "; ".join(problems))
                seen.add(report.key)
                self.contributions[name].builtin_reports.append(report)

    def _gather_record_types(self) -> None:
        from loandesk.fields import RecordType

        owners: dict[str, str] = {}
        for name, types in self.collect("loandesk_record_types"):
            for record_type in _as_list(types, RecordType, name, "loandesk_record_types"):
                if problems := record_type.problems():
                    raise PluginError(f"plugin {name!r}: " + "; ".join(problems))
                if record_type.key in owners:
                    raise PluginError(
                        f"plugin {name!r}: record type {record_type.key!r} is already "
                        f"declared by {owners[record_type.key]!r}"
                    )
                owners[record_type.key] = name
                self.contributions[name].record_types.append(record_type)

    def _gather_bundle_files(self) -> None:
        from loandesk.bundle.contract import BundleFile
        from loandesk.bundle.model import FILES

        owner: dict[str, str] = {}
        for name, files in self.collect("loandesk_bundle_files"):
            for item in _as_list(files, BundleFile, name, "loandesk_bundle_files"):
                taken = owner.get(item.name) or ("core" if item.name in FILES else None)
                if taken or "/" in item.name or not item.name.endswith(".yaml"):
                    raise PluginError(
                        f"plugin {name!r}: bundle file {item.name!r} must be a new <name>.yaml"
                        + (f" (taken by {taken})" if taken else "")
                    )
                owner[item.name] = name
                self.contributions[name].bundle_files.append(item)

    def _own_blueprint(self, plugin: str, blueprint: Any, full_name: str) -> None:
        if blueprint.name != plugin:
            raise PluginError(
                f"plugin {plugin!r}: blueprint {blueprint.name!r} must be named {plugin!r}"
            )
        self._blueprint_owner[full_name] = plugin

    def migration_folders(self) -> list[str]:
        return [c.migrations for c in self.contributions.values() if c.migrations]

    def owner_of_blueprint(self, blueprint_name: str | None) -> str | None:
        """The plugin a request's blueprint belongs to (nested blueprints included)."""
        while blueprint_name:
            if blueprint_name in self._blueprint_owner:
                return self._blueprint_owner[blueprint_name]
            blueprint_name = blueprint_name.rpartition(".")[0]
        return None

    # --- per tenant -------------------------------------------------------------------------

    def hook(self, name: str, enabled: frozenset[str]) -> Any:
        """The hook ``name``, calling only the ``enabled`` plugins (cached per enabled set)."""
        key = (enabled, name)
        caller = self._subset_callers.get(key)
        if caller is None:
            disabled = [self.pm.get_plugin(n) for n in self.infos if n not in enabled]
            caller = self.pm.subset_hook_caller(name, remove_plugins=disabled)
            self._subset_callers[key] = caller
        return caller

    def nav_items(self, enabled: Iterable[str]) -> list[NavItem]:
        return [
            i for n in enabled if n in self.contributions for i in self.contributions[n].nav_items
        ]

    def record_types(self, enabled: Iterable[str]) -> list[Any]:
        return [
            t
            for n in enabled
            if n in self.contributions
            for t in self.contributions[n].record_types
        ]

    def automation_actions(self, enabled: Iterable[str]) -> list[Any]:
        return [
            a
            for n in enabled
            if n in self.contributions
            for a in self.contributions[n].automation_actions
        ]

    def report_datasets(self, enabled: Iterable[str]) -> list[Any]:
        return [
            d
            for n in enabled
            if n in self.contributions
            for d in self.contributions[n].report_datasets
        ]

    def builtin_reports(self, enabled: Iterable[str]) -> list[Any]:
        return [
            r
            for n in enabled
            if n in self.contributions
            for r in self.contributions[n].builtin_reports
        ]

    def notification_channels(self, enabled: Iterable[str]) -> list[Any]:
        return [
            c
            for n in enabled
            if n in self.contributions
            for c in self.contributions[n].notification_channels
        ]

    def bundle_files(self, names: Iterable[str] | None = None) -> list[tuple[str, Any]]:
        """(plugin, ``BundleFile``) of the plugins ``names`` (every installed plugin when
        None), in the order they are applied: a plugin's files after those of the plugins it
        needs, otherwise by plugin name."""
        wanted = sorted(self.infos if names is None else set(names) & self.infos.keys())
        ordered: list[str] = []
        for name in wanted:
            for item in (*self.requirements(name), name):
                if item in wanted and item not in ordered:
                    ordered.append(item)
        return [
            (n, f)
            for n in ordered
            if n in self.contributions
            for f in self.contributions[n].bundle_files
        ]

    def permissions(self, enabled: Iterable[str]) -> list[Permission]:
        return [
            p for n in enabled if n in self.contributions for p in self.contributions[n].permissions
        ]


def _as_list(value: Any, kind: type, plugin: str, hook: str) -> list[Any]:
    items = list(value) if isinstance(value, list | tuple) else [value]
    for item in items:
        if not isinstance(item, kind):
            raise PluginError(f"plugin {plugin!r}: {hook} returned {item!r}, not a {kind.__name__}")
    return items
