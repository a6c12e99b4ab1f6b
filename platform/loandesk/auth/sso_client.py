"""Talking to a tenant's OpenID Connect provider: discovery, and authlib's Flask client for the
authorization-code flow (PKCE S256, state, nonce) with ID-token validation.

One client per tenant and configuration, built from the provider's discovery document and
kept for ``CLIENT_TTL`` (then discovery and the JWKS are read again; a signing key the client
does not know also makes authlib read the JWKS again at once).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App

from loandesk.i18n import N_

DISCOVERY_PATH = "/.well-known/openid-configuration"
TIMEOUT = 10  # seconds, for every request to the provider
CLIENT_TTL = 3600
_MAX_DOCUMENT = 512 * 1024
# Asymmetric signatures only: "none" and HMAC (keyed with the client secret) are refused.
SIGNING_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
_REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
# What the client takes from the discovery document; the rest is ignored.
_USED = (
    *_REQUIRED,
    "userinfo_endpoint",
    "end_session_endpoint",
    "code_challenge_methods_supported",
    "token_endpoint_auth_methods_supported",
)


class ProviderError(Exception):
    """The provider could not be used; ``message`` is a message id, ``params`` fill it."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message, self.params = message, params


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + DISCOVERY_PATH


def _get_json(url: str) -> Any:
    try:
        response = requests.get(
            url, timeout=TIMEOUT, headers={"Accept": "application/json"}, allow_redirects=False
        )
    except requests.Timeout:
        raise ProviderError(N_("%(url)s did not answer in time."), url=url) from None
    except requests.RequestException as exc:
        raise ProviderError(
            N_("%(url)s cannot be reached (%(reason)s)."), url=url, reason=type(exc).__name__
        ) from None
    if response.status_code != 200:
        raise ProviderError(
            N_("%(url)s answered with HTTP status %(status)s."),
            url=url,
            status=response.status_code,
        )
    if len(response.content) > _MAX_DOCUMENT:
        raise ProviderError(N_("%(url)s sent a document that is too large."), url=url)
    try:
        return response.json()
    except ValueError:
        raise ProviderError(N_("%(url)s did not answer with JSON."), url=url) from None


def fetch_metadata(issuer: str) -> dict[str, Any]:
    """The provider's discovery document, checked: it names this issuer and the endpoints of
    the code flow, supports PKCE S256 if it says what it supports, and signs ID tokens with
    an asymmetric algorithm."""
    url = discovery_url(issuer)
    document = _get_json(url)
    if not isinstance(document, dict):
        raise ProviderError(N_("%(url)s is not a discovery document."), url=url)
    missing = [key for key in _REQUIRED if not isinstance(document.get(key), str)]
    if missing:
        raise ProviderError(
            N_("The discovery document lacks %(fields)s."), fields=", ".join(missing)
        )
    if document["issuer"].rstrip("/") != issuer.rstrip("/"):
        raise ProviderError(
            N_("The provider calls itself %(found)s, not %(issuer)s: correct the issuer URL."),
            found=document["issuer"],
            issuer=issuer,
        )
    if "code" not in document.get("response_types_supported", ["code"]):
        raise ProviderError(N_("The provider does not offer the authorization code flow."))
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise ProviderError(N_("The provider does not support PKCE with S256."))
    offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [alg for alg in offered if alg in SIGNING_ALGORITHMS]
    if not algorithms:
        raise ProviderError(
            N_(
                "The provider signs ID tokens only with %(algorithms)s; LoanDesk needs RS256 "
                "or another public-key algorithm."
            ),
            algorithms=", ".join(map(str, offered)),
        )
    metadata = {key: document[key] for key in _USED if key in document}
    metadata["id_token_signing_alg_values_supported"] = algorithms
    return metadata


@dataclass(frozen=True)
class DiscoveryReport:
    """What "Test discovery" found: ``problem`` (message id and params) or the endpoints."""

    issuer: str
    problem: ProviderError | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    signing_keys: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_discovery(issuer: str) -> DiscoveryReport:
    """Read the discovery document and the signing keys, as a sign-in would."""
    try:
        metadata = fetch_metadata(issuer)
        keys = _get_json(metadata["jwks_uri"])
        if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
            raise ProviderError(N_("%(url)s is not a JSON Web Key Set."), url=metadata["jwks_uri"])
        if not keys["keys"]:
            raise ProviderError(N_("The provider publishes no signing keys."))
    except ProviderError as problem:
        return DiscoveryReport(issuer=issuer, problem=problem)
    return DiscoveryReport(issuer=issuer, metadata=metadata, signing_keys=len(keys["keys"]))


# --- the Flask client ----------------------------------------------------------------------


@dataclass
class _Cached:
    fingerprint: tuple[Any, ...]
    built_at: float
    client: FlaskOAuth2App


_clients: dict[uuid.UUID, _Cached] = {}
_lock = threading.Lock()


def forget(tenant_id: uuid.UUID) -> None:
    """Drop a tenant's client (after its configuration changed or was deleted)."""
    with _lock:
        _clients.pop(tenant_id, None)


def client_for(
    *,
    tenant_id: uuid.UUID,
    issuer: str,
    client_id: str,
    client_secret: str,
    scopes: str,
    version: datetime,
) -> FlaskOAuth2App:
    """authlib's Flask client for a tenant's provider. Its state, PKCE verifier and nonce live
    in the web session under a key named after the tenant, so a sign-in begun at one tenant
    cannot be finished at another."""
    fingerprint = (issuer, client_id, client_secret, scopes, version)
    now = time.monotonic()
    with _lock:
        cached = _clients.get(tenant_id)
        if cached and cached.fingerprint == fingerprint and now - cached.built_at < CLIENT_TTL:
            return cached.client
    metadata = fetch_metadata(issuer)
    name = f"sso_{tenant_id.hex}"
    auth_methods = metadata.get("token_endpoint_auth_methods_supported") or []
    auth_method = (
        "client_secret_post"
        if "client_secret_basic" not in auth_methods and "client_secret_post" in auth_methods
        else "client_secret_basic"
    )
    client = FlaskOAuth2App(
        FlaskIntegration(name),
        name=name,
        client_id=client_id,
        client_secret=client_secret,
        client_kwargs={
            "scope": scopes,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": auth_method,
            "default_timeout": TIMEOUT,
        },
        # The checked metadata, given up front: authlib then reads no discovery of its own.
        **metadata,
        _loaded_at=time.time(),
    )
    with _lock:
        _clients[tenant_id] = _Cached(fingerprint, now, client)
    return client


def claims_options(client: FlaskOAuth2App) -> dict[str, Any]:
    """What the ID token must say besides a valid signature, nonce and expiry: issued by the
    provider, to this client."""
    return {
        "iss": {"essential": True, "values": [client.server_metadata["issuer"]]},
        "aud": {"essential": True, "values": [client.client_id]},
        "sub": {"essential": True},
    }


def userinfo_claims(client: FlaskOAuth2App, token: Mapping[str, Any]) -> dict[str, Any]:
    """The provider's UserInfo answer for an access token (some providers put e-mail or
    groups only there)."""
    if not client.server_metadata.get("userinfo_endpoint"):
        return {}
    try:
        return dict(client.userinfo(token=dict(token)))
    except (requests.RequestException, ValueError) as exc:
        raise ProviderError(
            N_("The provider's user information could not be read (%(reason)s)."),
            reason=type(exc).__name__,
        ) from None
