"""Encryption of a tenant's secrets at rest: AES-GCM with a key derived per tenant and purpose
from the master key (``LOANDESK_MASTER_KEY``).

A ciphertext is bound to where it belongs (tenant, purpose, and a context such as the plugin
and field name, as associated data): copied to another row or tenant it does not decrypt.
"""

from __future__ import annotations

import base64
import os
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"


class DecryptionFailed(ValueError):
    """The ciphertext was altered, moved, or made with another master key."""


def _key(master_key: str, tenant_id: uuid.UUID, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=tenant_id.bytes,
        info=f"loandesk/{purpose}".encode(),
    ).derive(master_key.encode())


def encrypt(master_key: str, tenant_id: uuid.UUID, purpose: str, context: str, text: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(master_key, tenant_id, purpose)).encrypt(
        nonce, text.encode(), context.encode()
    )
    return f"{_VERSION}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def decrypt(master_key: str, tenant_id: uuid.UUID, purpose: str, context: str, token: str) -> str:
    version, _, body = token.partition(":")
    if version != _VERSION:
        raise DecryptionFailed(f"unknown ciphertext version {version!r}")
    raw = base64.urlsafe_b64decode(body.encode())
    try:
        plain = AESGCM(_key(master_key, tenant_id, purpose)).decrypt(
            raw[:12], raw[12:], context.encode()
        )
    except Exception as exc:  # InvalidTag: the only failure AES-GCM reports
        raise DecryptionFailed("ciphertext does not decrypt here") from exc
    return plain.decode()
