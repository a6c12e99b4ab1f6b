"""Where uploaded files are kept: a ``Storage`` with two backends, a local folder (the default,
under the instance folder) and S3-compatible object storage (``LOANDESK_STORAGE_BACKEND``).

Keys are relative paths of ``/``-separated parts (``<tenant id>/<attachment id>``); what a key
means is the caller's business (``loandesk.fields.attachments``). The backend is built once
per app from its settings (``storage()``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

from flask import current_app

from loandesk.settings import Settings

CHUNK = 64 * 1024
_KEY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class StorageError(RuntimeError):
    """The backend failed (the folder is not writable, the object store answered an error)."""


class NotStored(StorageError):
    """No object under that key."""


def check_key(key: str) -> str:
    """``key`` if it is a safe relative key (no ``..``, no leading ``/``), else ValueError."""
    if len(key) > 512 or not _KEY.match(key) or any(p in (".", "..") for p in key.split("/")):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class Storage(Protocol):
    """What every backend does. ``put`` replaces an object of the same key."""

    name: str

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes:
        """The object's bytes; ``NotStored`` if there is none."""
        ...

    def stream(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        """The object's bytes in chunks, for sending large files; ``NotStored`` (raised
        before the first chunk) if there is none."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; removing one that is not there is no error."""
        ...

    def exists(self, key: str) -> bool: ...


def from_settings(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        from loandesk.storage.s3 import S3Storage

        return S3Storage(
            endpoint=settings.s3_endpoint,
            region=settings.s3_region,
            bucket=settings.s3_bucket,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            path_style=settings.s3_path_style,
        )
    from loandesk.storage.local import LocalStorage

    return LocalStorage(settings.attachments_path)


def storage() -> Storage:
    """The current app's storage backend."""
    extensions = current_app.extensions
    if "loandesk.storage" not in extensions:
        extensions["loandesk.storage"] = from_settings(extensions["loandesk"].settings)
    found: Storage = extensions["loandesk.storage"]
    return found
