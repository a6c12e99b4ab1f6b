"""Every setting of LoanDesk, typed, read from ``LOANDESK_*`` environment variables.

The defaults give the embedded mode: one machine, a SQLite file under ``instance/``, no Redis,
jobs run in-process. Production mode refuses to start on the development keys.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints

Env = Literal["embedded", "production"]

# Known only so that production mode can recognise and refuse them.
DEV_SECRET_KEY = "dev-secret-key-change-me"  # noqa: S105  (refused in production)
DEV_MASTER_KEY = "dev-master-key-change-me"


class SettingsError(ValueError):
    """A setting is missing, malformed or unsafe for the chosen mode."""


_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    """At most ``count`` requests per ``period``; written ``20/1m``, ``10/15m``, ``5/h``.

    ``off`` (or a count of 0) turns the limit off.
    """

    count: int
    period: timedelta

    @property
    def enabled(self) -> bool:
        return self.count > 0 and self.period.total_seconds() > 0

    @classmethod
    def parse(cls, text: str) -> Rate:
        if text.strip().lower() in ("off", "0", ""):
            return cls(0, timedelta(0))
        match = _RATE.match(text.lower())
        seconds = int(match.group(2) or 1) * _UNIT_SECONDS[match.group(3)] if match else 0
        if match is None or seconds <= 0:
            raise ValueError("write it as COUNT/PERIOD, e.g. 20/1m, 10/15m, 5/h, or off")
        return cls(int(match.group(1)), timedelta(seconds=seconds))


@dataclass(frozen=True)
class Settings:
    env: Env = "embedded"
    instance_path: Path = Path("instance")
    # The app connects with this URL. On PostgreSQL it must be a role that owns no table and is
    # not superuser, so that row-level security applies to it.
    database_url: str = ""
    # Migrations run with this URL (the owner role). Empty: same as database_url.
    migration_database_url: str = ""
    redis_url: str = ""
    secret_key: str = DEV_SECRET_KEY
    # Root key that per-tenant data keys derive from (personal data at rest).
    master_key: str = DEV_MASTER_KEY
    # During a master-key rotation: the keys data may still be wrapped with (comma-separated).
    previous_master_keys: tuple[str, ...] = ()
    base_url: str = "http://127.0.0.1:5000"
    templates_path: Path | None = None
    default_locale: str = "zh_CN"
    session_lifetime: timedelta = timedelta(hours=12)
    login_max_failures: int = 10
    login_lock: timedelta = timedelta(minutes=15)
    access_token_lifetime: timedelta = timedelta(hours=1)
    # Rate limits (security/ratelimit.py). The per-account sign-in limit stays above
    # login_max_failures, so that the lock-out, with its clearer message, answers first.
    rate_limit_login_ip: Rate = Rate(20, timedelta(minutes=1))
    rate_limit_login_account: Rate = Rate(20, timedelta(minutes=15))
    rate_limit_signup_ip: Rate = Rate(5, timedelta(hours=1))
    rate_limit_public_form_ip: Rate = Rate(10, timedelta(hours=1))
    rate_limit_token_client: Rate = Rate(60, timedelta(minutes=1))
    rate_limit_token_ip: Rate = Rate(60, timedelta(minutes=1))
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed (ProxyFix).
    trusted_proxies: int = 0
    # Strict-Transport-Security outside the embedded mode; 0 leaves the header out.
    hsts_max_age: timedelta = timedelta(days=365)
    # Single sign-on: an http:// issuer is refused outside the embedded mode unless this is on
    # (for tests against a provider on localhost; never in a real deployment).
    sso_allow_http_issuer: bool = False
    sql_echo: bool = False
    # Uploaded files (attachment fields; loandesk.storage): "local" keeps them in a folder
    # (default: "attachments" in the instance folder), "s3" in S3-compatible object storage.
    storage_backend: str = "local"
    storage_path: Path | None = None
    s3_endpoint: str = ""
    s3_region: str = "us-east-1"
    s3_bucket: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    # Path-style URLs (endpoint/bucket/key) as MinIO and most private installs need; off:
    # virtual-hosted style (bucket.endpoint/key).
    s3_path_style: bool = False
    attachment_max_size: int = 10 * 1024 * 1024  # bytes per uploaded file
    # Automation webhooks (the ``webhook`` action): plain http:// URLs, and receivers at
    # loopback, private or link-local addresses, are refused unless turned on here (a private
    # install whose receivers are on its own network turns on the second); each request waits
    # this long for an answer.
    webhook_allow_http: bool = False
    webhook_allow_private: bool = False
    webhook_timeout: timedelta = timedelta(seconds=10)
    # Log lines as plain text (default) or one JSON object per line (docs/deployment.md,
    # "Logs and metrics"); gunicorn's access log follows.
    log_format: str = "text"
    # GET /metrics (Prometheus) answers only when set, and only to "Authorization: Bearer <it>".
    metrics_token: str = ""
    # Single-tenant mode (a private install at one firm): the slug of its one tenant, whose
    # pages then have no /t/<slug> prefix; public sign-up is off. Empty: multi-tenant.
    single_tenant: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.env not in get_args(Env):
            raise SettingsError(f"LOANDESK_ENV must be one of {get_args(Env)}, not {self.env!r}")
        if not self.database_url:
            sqlite_path = (Path(self.instance_path) / "loandesk.sqlite3").resolve()
            object.__setattr__(self, "database_url", f"sqlite:///{sqlite_path}")
        if self.trusted_proxies < 0:
            raise SettingsError("LOANDESK_TRUSTED_PROXIES must be 0 or more")
        if not timedelta(0) < self.webhook_timeout <= timedelta(minutes=1):
            raise SettingsError("LOANDESK_WEBHOOK_TIMEOUT must be 1 to 60 seconds")
        if self.log_format not in ("text", "json"):
            raise SettingsError("LOANDESK_LOG_FORMAT must be text or json")
        self._check_storage()
        if self.single_tenant:
            self._check_single_tenant()
        if self.env == "production":
            self._check_production()

    def _check_production(self) -> None:
        if self.secret_key in ("", DEV_SECRET_KEY) or len(self.secret_key) < 32:
            raise SettingsError(
                "production mode needs LOANDESK_SECRET_KEY: a random string of 32+ characters"
            )
        if self.master_key in ("", DEV_MASTER_KEY) or len(self.master_key) < 32:
            raise SettingsError(
                "production mode needs LOANDESK_MASTER_KEY: a random string of 32+ characters"
            )

    def _check_single_tenant(self) -> None:
        from loandesk.tenancy.service import slug_problems  # only in this mode: it pulls the ORM

        if problems := slug_problems(self.single_tenant):
            raise SettingsError(
                f"LOANDESK_SINGLE_TENANT must be a tenant's address (slug), not "
                f"{self.single_tenant!r}: {' '.join(problems)}"
            )

    def _check_storage(self) -> None:
        if self.storage_backend not in ("local", "s3"):
            raise SettingsError("LOANDESK_STORAGE_BACKEND must be local or s3")
        if self.attachment_max_size <= 0:
            raise SettingsError("LOANDESK_ATTACHMENT_MAX_SIZE must be a number of bytes above 0")
        if self.storage_backend == "s3":
            missing = [
                f"LOANDESK_{name.upper()}"
                for name in ("s3_endpoint", "s3_bucket", "s3_access_key", "s3_secret_key")
                if not getattr(self, name)
            ]
            if missing:
                raise SettingsError(f"the s3 storage backend needs {', '.join(missing)}")
            if not self.s3_endpoint.startswith(("http://", "https://")):
                raise SettingsError("LOANDESK_S3_ENDPOINT must start with https:// or http://")

    @property
    def attachments_path(self) -> Path:
        """The local storage backend's folder."""
        return Path(self.storage_path or Path(self.instance_path) / "attachments")

    @property
    def is_embedded(self) -> bool:
        return self.env == "embedded"

    @property
    def sso_http_allowed(self) -> bool:
        return self.is_embedded or self.sso_allow_http_issuer

    @property
    def owner_database_url(self) -> str:
        return self.migration_database_url or self.database_url

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``LOANDESK_<FIELD>`` variables; ``overrides`` win over both."""
        environ = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name == "extra":
                continue
            raw = environ.get(f"LOANDESK_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _parse(f.name, raw, hints[f.name])
        values.update(overrides)
        return cls(**values)


def _parse(name: str, raw: str, hint: Any) -> Any:
    var = f"LOANDESK_{name.upper()}"
    try:
        if hint is bool:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        if hint is int:
            return int(raw)
        if hint is timedelta:
            return timedelta(seconds=int(raw))
        if hint is Rate:
            return Rate.parse(raw)
        if hint in (Path, Path | None):
            return Path(raw) if raw else None
        if hint == tuple[str, ...]:
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise SettingsError(f"{var}: cannot read {raw!r} ({exc})") from None
    return raw
