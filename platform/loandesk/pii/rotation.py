"""Rotating keys: re-wrap a tenant's data keys with a new master key, or add a data key version.

Both run per tenant in the caller's transaction, with that tenant current (row-level security
shows only its keys); ``loandesk keys rotate`` calls ``rotate_tenant`` for every tenant, which
records what changed in the tenant's audit log (counts and versions, never key material).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.db import utcnow
from loandesk.pii.keys import key_check, new_data_key, unwrap, wrap
from loandesk.pii.models import TenantDataKey


@dataclass
class RewrapResult:
    rewrapped: int = 0  # were wrapped by a previous master key, now by the current one
    already_current: int = 0  # wrapped by the current master key: left as they are
    unavailable: int = 0  # no master key given unwraps them: left as they are


def rewrap_data_keys(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    master_key: str,
    previous_master_keys: Sequence[str],
) -> RewrapResult:
    """Wrap every data key of the tenant with ``master_key``. Idempotent: keys it already wraps
    are skipped, so a rotation that stopped half-way can simply run again."""
    result = RewrapResult()
    rows = session.scalars(
        select(TenantDataKey)
        .where(TenantDataKey.tenant_id == tenant_id)
        .order_by(TenantDataKey.version)
        .with_for_update()
    )
    for row in rows:
        if _unwraps(master_key, row) is not None:
            result.already_current += 1
            continue
        for previous in previous_master_keys:
            data_key = _unwraps(previous, row)
            if data_key is not None:
                row.wrapped_key = wrap(master_key, tenant_id, row.version, data_key)
                row.rewrapped_at = utcnow()
                result.rewrapped += 1
                break
        else:
            result.unavailable += 1
    session.flush()
    return result


def add_data_key(session: Session, *, tenant_id: uuid.UUID, master_key: str) -> int:
    """Create the tenant's next data key version, which new values will be encrypted with;
    returns it. Values encrypted before keep decrypting with their own version."""
    latest = session.scalar(
        select(func.max(TenantDataKey.version)).where(TenantDataKey.tenant_id == tenant_id)
    )
    version = (latest or 0) + 1
    session.add(TenantDataKey(**new_data_key(master_key, tenant_id, version)))
    session.flush()
    return version


def _unwraps(master_key: str, row: TenantDataKey) -> bytes | None:
    data_key = unwrap(master_key, row.tenant_id, row.version, row.wrapped_key)
    if data_key is None or key_check(data_key) != row.key_check:
        return None
    return data_key


@dataclass
class TenantRotation:
    result: RewrapResult
    new_version: int | None = None  # the data key version added, if one was


def rotate_tenant(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    master_key: str,
    previous_master_keys: Sequence[str],
    new_data_key: bool = False,
) -> TenantRotation:
    """Re-wrap the tenant's data keys and, when asked and every key opened, add a version.

    Writes ``keys.rotate`` to the tenant's audit log when a key was re-wrapped or added, and
    ``keys.rotate_failed`` when some key opened with none of the master keys given.
    """
    result = rewrap_data_keys(
        session,
        tenant_id=tenant_id,
        master_key=master_key,
        previous_master_keys=previous_master_keys,
    )
    rotation = TenantRotation(result)
    if new_data_key and not result.unavailable:
        rotation.new_version = add_data_key(session, tenant_id=tenant_id, master_key=master_key)
    diff = {
        "rewrapped": result.rewrapped,
        "already_current": result.already_current,
        "unavailable": result.unavailable,
        "new_data_key_version": rotation.new_version,
    }
    if result.unavailable:
        audit.record(session, "keys.rotate_failed", "tenant_data_keys", None, diff)
    elif result.rewrapped or rotation.new_version is not None:
        audit.record(session, "keys.rotate", "tenant_data_keys", None, diff)
    return rotation
