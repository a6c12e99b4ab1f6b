"""What a plugin needs to carry its own configuration in a tenant bundle (hook
``loandesk_bundle_files``): settings a plugin keeps in its own tables (the collections plugin's
queues and rules) join ``loandesk tenant export|apply`` as files of their own.

A plugin's file is read and checked like the core's files: its marshmallow schema refuses
unknown keys and wrong types when the folder is read, ``check`` reports what needs the tenant
in view, and ``apply`` makes each change through the plugin's service functions inside
``BundleContext.change`` (audited with the actor ``system``, in the bundle's transaction;
nothing is kept on a dry run). Staff are named by e-mail and org units by their path of
names, never by id, through the context.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import marshmallow as ma
from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.auth.models import User
from loandesk.auth.users import find_by_email
from loandesk.bundle.model import BundleInvalid
from loandesk.errors import DomainError
from loandesk.rbac.org import Tree

T = TypeVar("T")
_PLANNED = uuid.UUID("0b6d2f0e-5c1a-4f57-9a43-5e0f6a1c2b7d")  # ids of units still to come


@dataclass(frozen=True)
class Change:
    """One change a bundle makes, printed ``file: path: summary``."""

    file: str
    path: str
    summary: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.summary}"


@dataclass(frozen=True)
class BundleFile:
    """A file a plugin adds to tenant bundles.

    ``name``: the file in the bundle's folder (``collections.yaml``), unique among plugins and
    not one of the core's. ``schema``: the marshmallow schema the file is read with (unknown
    keys refused, as the core's files). ``json_schema``: the same format as a JSON Schema
    fragment; ``tenants/bundle.schema.json`` holds it under ``$defs`` at the plugin's name.
    ``export(session, context)`` → the file's plain data (no ids, no times: the same
    configuration exports to the same bytes from any tenant). ``check(session, data,
    context)`` → (path, message) problems found against the tenant before anything changes.
    ``apply(session, data, context)`` makes what differs through ``context.change``; what the
    file does not name is left alone, and applying it twice changes nothing the second time.
    """

    name: str
    schema: type[ma.Schema]
    json_schema: Mapping[str, Any]
    export: Callable[[Session, BundleContext], dict[str, Any]]
    check: Callable[[Session, dict[str, Any], BundleContext], Iterable[tuple[str, str]]]
    apply: Callable[[Session, dict[str, Any], BundleContext], None]


@dataclass
class BundleContext:
    """What a plugin's file sees of the bundle and the tenant: the plugins enabled once the
    bundle is applied, the other files of the bundle (empty on export), portable names for
    staff and org units, and ``change`` to make and note one change."""

    session: Session
    file: str
    enabled: frozenset[str]
    bundle: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    planned_units: frozenset[tuple[str, ...]] = frozenset()
    changes: list[Change] = field(default_factory=list)

    def email(self, user_id: uuid.UUID | None) -> str | None:
        """The staff member's e-mail, the name a bundle uses for them."""
        if user_id is None:
            return None
        return self.session.scalar(select(User.email).where(User.id == user_id))

    def user_id(self, email: str | None) -> uuid.UUID | None:
        """The id of the tenant's active staff member with this e-mail, or None."""
        user = find_by_email(self.session, email) if email else None
        return user.id if user is not None and user.is_active else None

    def unit_path(self, unit_id: uuid.UUID | None) -> list[str] | None:
        """The unit's path of names below the company (``[]`` is the company itself)."""
        if unit_id is None:
            return None
        path = Tree.load(self.session).path(unit_id)
        return [u.name for u in path[1:]] if path else None

    def unit_id(self, path: Iterable[str] | None) -> uuid.UUID | None:
        """The unit at this path of names; on check, a unit the bundle's ``org.yaml`` is to
        create answers a stand-in id (it exists by the time plugin files are applied)."""
        if path is None:
            return None
        wanted = tuple(path)
        tree = Tree.load(self.session)
        for unit_id in tree.units:
            if tuple(u.name for u in tree.path(unit_id)[1:]) == wanted:
                return unit_id
        if wanted in self.planned_units:
            return uuid.uuid5(_PLANNED, "/".join(wanted))
        return None

    def change(self, path: str, summary: str, do: Callable[..., T], *args: Any, **kw: Any) -> T:
        """``do(*args, **kw)``, noted as a change of this file; a refusal of the service
        rolls the whole bundle back, naming this file and ``path``."""
        try:
            result = do(*args, **kw)
        except DomainError as error:
            message = error.message % error.params if error.params else error.message
            details = [f"{k}: {'; '.join(v)}" for k, v in error.errors.items()]
            raise BundleInvalid([f"{self.file}: {path}: {' '.join([message, *details])}"]) from None
        self.changes.append(Change(self.file, path, summary))
        return result
