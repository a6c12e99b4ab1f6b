"""A real OpenID Connect provider for the single sign-on tests, built from authlib's server
components (``AuthorizationServer``, the authorization-code grant with PKCE and the OpenID
Connect extension) and signing ID tokens with an RSA key (joserfc). It serves discovery, JWKS,
authorize, token and UserInfo endpoints over HTTP on a random localhost port, in a thread.

The authorize endpoint approves at once, for whichever test user ``sign_in_as`` names. A test
can rewrite the ID token the token endpoint returns (``rewrite_id_token``), to check that
LoanDesk refuses what a forged or misdirected token says.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from flask import Flask, jsonify, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server


@dataclass
class TestUser:
    sub: str
    claims: dict[str, Any]  # email, email_verified, name, groups, ...


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in ("openid", "email", "profile"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: TestUser
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


class Provider:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-1", "use": "sig"})
        self.clients: dict[str, Client] = {}
        self.users: dict[str, TestUser] = {}
        self.codes: dict[str, Code] = {}
        self.access_tokens: dict[str, tuple[TestUser, str]] = {}
        self.sign_in_as: str | None = None
        self.rewrite_id_token: Callable[[str], str] | None = None
        self.id_token_leaves_out: tuple[str, ...] = ()  # claims only UserInfo tells
        self.authorize_requests: list[dict[str, str]] = []
        self.userinfo_calls = 0
        self.app = self._build_app()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- set-up by the tests ----------------------------------------------------------------

    def add_client(self, redirect_uri: str) -> Client:
        client = Client(
            f"loandesk-{secrets.token_hex(4)}", secrets.token_urlsafe(24), [redirect_uri]
        )
        self.clients[client.client_id] = client
        return client

    def add_user(self, sub: str, **claims: Any) -> TestUser:
        user = TestUser(sub, claims)
        self.users[sub] = user
        return user

    def start(self) -> Provider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- forging ----------------------------------------------------------------------------

    def resign(self, id_token: str, key: RSAKey | None = None, **changes: Any) -> str:
        """The ID token with ``changes`` to its claims, signed again (with ``key``, else the
        provider's own)."""
        claims = jwt.decode(id_token, self.key).claims
        claims.update(changes)
        signing_key = key or self.key
        return jwt.encode({"alg": "RS256", "kid": signing_key.kid}, claims, signing_key)

    @staticmethod
    def alter_payload(id_token: str, **changes: Any) -> str:
        """The ID token with ``changes`` to its claims and the original signature."""
        header, payload, signature = id_token.split(".")
        padded = payload + "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
        claims.update(changes)
        encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"{header}.{encoded}.{signature}"

    # --- the provider -----------------------------------------------------------------------

    def _build_app(self) -> Flask:
        provider = self
        app = Flask("test_oidc_provider")

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]

            def save_authorization_code(self, code: str, req: Any) -> Code:
                data = req.payload.data
                item = Code(
                    code=code,
                    client_id=req.client.client_id,
                    redirect_uri=req.payload.redirect_uri,
                    scope=req.payload.scope,
                    user=req.user,
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                )
                provider.codes[code] = item
                return item

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                item = provider.codes.get(code)
                return item if item and item.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Code) -> TestUser:
                return authorization_code.user

        class OpenIDExtension(OpenIDCode):
            def resolve_client_private_key(self, client: Client) -> RSAKey:
                return provider.key

            def get_client_algorithm(self, client: Client) -> str:
                return "RS256"

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                return {"iss": provider.issuer, "aud": [client.client_id]}

            def get_encode_header(self, client: Client) -> dict[str, Any]:
                return {"alg": "RS256", "kid": provider.key.kid}

            def exists_nonce(self, nonce: str, req: Any) -> bool:
                return any(code.nonce == nonce for code in provider.codes.values())

            def generate_user_info(self, user: TestUser, scope: str) -> UserInfo:
                claims = {
                    k: v for k, v in user.claims.items() if k not in provider.id_token_leaves_out
                }
                return UserInfo(sub=user.sub, **claims)

        def save_token(token: dict[str, Any], req: Any) -> None:
            provider.access_tokens[token["access_token"]] = (req.user, token.get("scope", ""))

        server = AuthorizationServer(
            app, query_client=lambda cid: provider.clients.get(cid), save_token=save_token
        )
        server.register_grant(
            CodeGrant, [CodeChallenge(required=True), OpenIDExtension(require_nonce=True)]
        )

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Any:
            return jsonify(
                {
                    "issuer": provider.issuer,
                    "authorization_endpoint": f"{provider.issuer}/authorize",
                    "token_endpoint": f"{provider.issuer}/token",
                    "userinfo_endpoint": f"{provider.issuer}/userinfo",
                    "jwks_uri": f"{provider.issuer}/jwks",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                    "scopes_supported": ["openid", "email", "profile"],
                }
            )

        @app.get("/jwks")
        def jwks() -> Any:
            return jsonify(KeySet([provider.key]).as_dict(private=False))

        @app.get("/authorize")
        def authorize() -> Any:
            provider.authorize_requests.append(request.args.to_dict())
            user = provider.users.get(provider.sign_in_as or "")
            try:
                grant = server.get_consent_grant(end_user=user)
            except OAuth2Error as error:
                return server.handle_error_response(None, error)
            return server.create_authorization_response(grant=grant, grant_user=user)

        @app.post("/token")
        def token() -> Any:
            response = server.create_token_response()
            if provider.rewrite_id_token is not None and response.status_code == 200:
                body = json.loads(response.get_data())
                body["id_token"] = provider.rewrite_id_token(body["id_token"])
                response.set_data(json.dumps(body))
            return response

        @app.get("/userinfo")
        def userinfo() -> Any:
            provider.userinfo_calls += 1
            scheme, _, value = request.headers.get("Authorization", "").partition(" ")
            found = provider.access_tokens.get(value) if scheme.lower() == "bearer" else None
            if found is None:
                return jsonify({"error": "invalid_token"}), 401
            user, _scope = found
            return jsonify({"sub": user.sub, **user.claims})

        return app
