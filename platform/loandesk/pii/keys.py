"""Envelope encryption of personal data (DESIGN §5; 个人信息保护法).

Each tenant has data keys (``tenant_data_keys``, versions 1, 2, ...): random 256-bit AES keys,
stored wrapped (AES-GCM) by a key-encryption key that HKDF derives from the master key
(``LOANDESK_MASTER_KEY``) and the tenant's id. Rotating the master key re-wraps the data keys
and touches no personal value (``loandesk.pii.rotation``). The first write of a tenant creates
its first data key; ``loandesk keys rotate --new-data-key`` adds a version, which new writes
use while older ciphertexts, which name their version, still decrypt.

A ciphertext is ``pd1:<version>:<base64(nonce + AES-GCM output)>``; its associated data names
the tenant, record type, field and record id, so a value copied to another tenant, row or field
does not decrypt. Searchable fields carry a keyed hash of the normalised value (``search_hash``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loandesk.pii.models import TenantDataKey
from loandesk.pii.validation import normalise
from loandesk.tenancy.context import TenantContextMissing, current_id

FORMAT = "pd1"
_NONCE = 12

# Unwrapped data keys by (tenant, version), with their key check: unwrapping once per process
# is enough, and the check tells a key that was rolled back (and created again by another
# process under the same version) from the stored one.
_cache: dict[tuple[uuid.UUID, int], tuple[str, bytes]] = {}
_cache_lock = threading.Lock()


class DecryptionFailed(ValueError):
    """The ciphertext was altered, moved to another tenant, row or field, or its key is gone."""


class DataKeyUnavailable(RuntimeError):
    """None of the master keys given unwraps a tenant's data key (a rotation was missed, or
    the master key is wrong)."""


def clear_cache() -> None:
    """Forget every unwrapped data key held by this process."""
    with _cache_lock:
        _cache.clear()


def _hkdf(secret: bytes, tenant_id: uuid.UUID, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=tenant_id.bytes, info=purpose.encode()
    ).derive(secret)


def _wrapping_data(tenant_id: uuid.UUID, version: int) -> bytes:
    return f"loandesk/pii/data-key|{tenant_id}|{version}".encode()


def wrap(master_key: str, tenant_id: uuid.UUID, version: int, data_key: bytes) -> str:
    """AES-GCM rather than RFC 3394 key wrap: its associated data binds the wrapped key to its
    tenant and version, so a row copied to another tenant or version does not unwrap."""
    kek = _hkdf(master_key.encode(), tenant_id, "loandesk/pii/kek")
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(kek).encrypt(nonce, data_key, _wrapping_data(tenant_id, version))
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unwrap(master_key: str, tenant_id: uuid.UUID, version: int, wrapped: str) -> bytes | None:
    """The data key, or None when ``master_key`` did not wrap it."""
    kek = _hkdf(master_key.encode(), tenant_id, "loandesk/pii/kek")
    raw = base64.urlsafe_b64decode(wrapped.encode())
    try:
        return AESGCM(kek).decrypt(raw[:_NONCE], raw[_NONCE:], _wrapping_data(tenant_id, version))
    except InvalidTag:
        return None


def key_check(data_key: bytes) -> str:
    return hmac.new(data_key, b"loandesk/pii/key-check", hashlib.sha256).hexdigest()[:16]


def new_data_key(master_key: str, tenant_id: uuid.UUID, version: int) -> dict[str, Any]:
    """The column values of a new random data key, wrapped with ``master_key``."""
    data_key = AESGCM.generate_key(bit_length=256)
    return {
        "tenant_id": tenant_id,
        "version": version,
        "wrapped_key": wrap(master_key, tenant_id, version, data_key),
        "key_check": key_check(data_key),
    }


@dataclass(frozen=True)
class _StoredKey:
    version: int
    wrapped_key: str
    key_check: str


class Keyring:
    """One tenant's data keys, for one unit of work (a request, a job, a command).

    ``master_key`` wraps new data keys; ``previous_master_keys`` are tried too when unwrapping
    (during a master-key rotation). Reading never creates a key; the first encryption does, in
    the caller's transaction.
    """

    def __init__(
        self,
        session: Session,
        *,
        master_key: str,
        previous_master_keys: Sequence[str] = (),
        tenant_id: uuid.UUID | None = None,
    ) -> None:
        tenant_id = tenant_id or current_id()
        if tenant_id is None:
            raise TenantContextMissing("personal data keys need a tenant")
        self.session = session
        self.tenant_id = tenant_id
        self.master_keys = (master_key, *previous_master_keys)
        self._stored: dict[int, _StoredKey] | None = None
        self._search_key: bytes | None = None

    # --- encryption ------------------------------------------------------------------------

    def encrypt(self, value: str, *, record_type: str, field: str, record_id: uuid.UUID) -> str:
        version = self._version_for_writing()
        nonce = os.urandom(_NONCE)
        data = self._associated_data(record_type, field, record_id, version)
        sealed = AESGCM(self._data_key(version)).encrypt(nonce, value.encode(), data)
        return f"{FORMAT}:{version}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, record_type: str, field: str, record_id: uuid.UUID) -> str:
        """The plaintext; ``DecryptionFailed`` if the ciphertext was altered or moved here from
        another tenant, record or field."""
        fmt, _, rest = token.partition(":")
        version_text, _, body = rest.partition(":")
        if fmt != FORMAT or not version_text.isdigit():
            raise DecryptionFailed("not a personal-data ciphertext")
        version = int(version_text)
        data = self._associated_data(record_type, field, record_id, version)
        key = self._data_key(version)
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            plain = AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], data)
        except (InvalidTag, ValueError):  # ValueError: not base64
            raise DecryptionFailed("ciphertext does not decrypt here") from None
        return plain.decode()

    def _associated_data(
        self, record_type: str, field: str, record_id: uuid.UUID, version: int
    ) -> bytes:
        return f"loandesk/pii|{self.tenant_id}|{record_type}|{field}|{record_id}|{version}".encode()

    # --- search ----------------------------------------------------------------------------

    def search_hash(self, kind: str, value: str) -> str | None:
        """HMAC-SHA256 of the normalised value, hex; equal values of the same kind (in any
        table) hash alike within the tenant. None when the tenant has no data key yet (then no
        stored value can match) or the value is empty."""
        normalised = normalise(kind, value)
        if not normalised or not self._keys():
            return None
        message = f"{kind}\x00{normalised}".encode()
        return hmac.new(self._hash_key(), message, hashlib.sha256).hexdigest()

    def _hash_key(self) -> bytes:
        # Derived from the tenant's FIRST data key, not from the master key: rotating the
        # master key only re-wraps data keys, and a new data key version leaves version 1 in
        # place, so stored hashes never need recomputing (which would mean decrypting every
        # personal value in every plugin's tables). Keyed, because ID numbers and phone numbers
        # are few enough to hash them all: without the key a database dump would be searchable
        # by anyone. HKDF keeps the hashing key apart from the encryption key.
        if self._search_key is None:
            first = min(self._keys())
            self._search_key = _hkdf(self._data_key(first), self.tenant_id, "loandesk/pii/search")
        return self._search_key

    # --- keys ------------------------------------------------------------------------------

    @property
    def current_version(self) -> int | None:
        """The version new values are encrypted with; None while the tenant has no data key."""
        keys = self._keys()
        return max(keys) if keys else None

    def _version_for_writing(self) -> int:
        version = self.current_version
        if version is None:
            self._create(1)
            version = 1
        return version

    @property
    def versions(self) -> list[int]:
        return sorted(self._keys())

    def _data_key(self, version: int) -> bytes:
        stored = self._keys().get(version)
        if stored is None:
            self.reload()  # another process may have added it since we read the keys
            stored = self._keys().get(version)
        if stored is None:
            raise DecryptionFailed(f"the tenant has no data key version {version}")
        cache_key = (self.tenant_id, version)
        with _cache_lock:
            cached = _cache.get(cache_key)
        if cached is not None and cached[0] == stored.key_check:
            return cached[1]
        for master_key in self.master_keys:
            data_key = unwrap(master_key, self.tenant_id, version, stored.wrapped_key)
            if data_key is not None and key_check(data_key) == stored.key_check:
                with _cache_lock:
                    _cache[cache_key] = (stored.key_check, data_key)
                return data_key
        raise DataKeyUnavailable(
            f"no master key given unwraps data key version {version} of tenant {self.tenant_id}"
        )

    def reload(self) -> None:
        """Read the stored keys again (after another session added or re-wrapped one)."""
        self._stored = None
        self._search_key = None

    def _keys(self) -> dict[int, _StoredKey]:
        if self._stored is None:
            if current_id() != self.tenant_id:
                raise TenantContextMissing("the keyring's tenant is not the current tenant")
            rows = self.session.execute(
                select(
                    TenantDataKey.version, TenantDataKey.wrapped_key, TenantDataKey.key_check
                ).where(TenantDataKey.tenant_id == self.tenant_id)
            )
            self._stored = {row.version: _StoredKey(*row) for row in rows}
        return self._stored

    def _create(self, version: int) -> None:
        # When another transaction creates this version at the same time, ours does nothing
        # (after waiting for it to commit, on PostgreSQL) and we read and use its key.
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self.session.execute(
            insert(TenantDataKey)
            .values(new_data_key(self.master_keys[0], self.tenant_id, version))
            .on_conflict_do_nothing(index_elements=["tenant_id", "version"])
        )
        self.reload()
        if version not in self._keys():
            raise DataKeyUnavailable(f"data key version {version} could not be created")


def for_current_tenant() -> Keyring:
    """The current tenant's keyring with the app's master key and session (web, API, jobs).
    Service functions take a ``Keyring`` argument instead, so that they need no Flask."""
    from loandesk import extension

    ext = extension.get()
    return Keyring(
        ext.db.session(),
        master_key=ext.settings.master_key,
        previous_master_keys=ext.settings.previous_master_keys,
    )
