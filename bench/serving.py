"""What the API benchmarks share: a firm set up through the API as a client would (sign-up, an
API client acting for the admin, products, customers and repayment enabled, a product, a
customer, loans paid out with their schedules), ``loandesk serve`` (gunicorn, production mode)
and the bare Flask app under the same gunicorn settings, each in its own process."""

from __future__ import annotations

import base64
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import Database, plugin_folders

from loandesk import migrate
from loandesk.app import create_app
from loandesk.settings import Settings

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
DISBURSED_ON = "2025-01-15"  # a 12-month loan paid out then has every installment due by:
RECEIVED_ON = "2026-02-01"  # (fixed dates: the business day is the tenant's, not the machine's)
PASSWORD = "Bench-horse-42-Aa!"  # noqa: S105 (a throw-away database's admin)


@dataclass
class Firm:
    slug: str
    tenant_id: str
    token: str
    loans: list[str]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def keys() -> dict[str, str]:
    """Production mode's keys, the same for the set-up and the server (personal data is
    encrypted with keys derived from the master key)."""
    return {
        "LOANDESK_SECRET_KEY": secrets.token_urlsafe(40),
        "LOANDESK_MASTER_KEY": secrets.token_urlsafe(40),
    }


@contextmanager
def prepared(admin_url: str, secret: dict[str, str]) -> Iterator[tuple[Database, Any, Path]]:
    """A fresh database and its roles, migrated, and the app on it (for the set-up)."""
    with Database(admin_url) as database, tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=database.app_url,
            migration_database_url=database.owner_url,
            instance_path=Path(folder),
            secret_key=secret["LOANDESK_SECRET_KEY"],
            master_key=secret["LOANDESK_MASTER_KEY"],
        )
        migrate.upgrade(settings, plugin_folders())
        app = create_app(settings)
        try:
            yield database, app, Path(folder)
        finally:
            app.extensions["loandesk"].db.dispose()


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    if response.status_code != status:
        raise SystemExit(f"set-up: {response.request.path} answered {response.status_code}: "
                         f"{response.get_data(as_text=True)[:500]}")  # fmt: skip
    return dict(response.get_json())


def set_up_firm(app: Any, slug: str, loans: int) -> Firm:
    """Sign-up, an API client acting for the admin (every scope), the three plugins, a
    product, a customer and ``loans`` loans paid out on ``DISBURSED_ON`` (schedule built),
    all through the API (Flask's test client, in this process)."""
    from loandesk.auth import clients
    from loandesk.tenancy import service, use

    web = app.test_client()
    signed = _ok(web.post("/api/v1/signup", json={
        "name": f"{slug} 压测小贷", "slug": slug, "admin_email": f"admin@{slug}.example.cn",
        "admin_password": PASSWORD}), 201)  # fmt: skip
    ext = app.extensions["loandesk"]
    with app.app_context(), ext.db.transaction() as session:
        tenant = service.get_by_slug(session, slug)
        with use(tenant.ref()):
            new = clients.create_client(
                session,
                tenant_id=tenant.id,
                name="bench",
                scopes=list(clients.SCOPES),
                created_by_id=None,
                acts_as_id=uuid.UUID(signed["admin_user_id"]),
            )
            client_id, secret = new.client.client_id, new.client_secret
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    token = _ok(web.post("/oauth/token", data={"grant_type": "client_credentials"},
                         headers={"Authorization": f"Basic {basic}"}))["access_token"]  # fmt: skip
    auth = {"Authorization": f"Bearer {token}"}
    for name in ("customers", "products", "repayment"):
        _ok(web.put(f"/api/v1/plugins/{name}", json={"enabled": True}, headers=auth))
    product = _ok(web.post("/api/v1/products", headers=auth, json={
        "code": "XF01", "name": "工薪消费贷", "terms": {
            "min_amount": "1000.00", "max_amount": "200000.00", "min_periods": 3,
            "max_periods": 36, "annual_rate": "0.12", "frequency": "monthly",
            "method": "equal_installment"}}), 201)  # fmt: skip
    customer = _ok(web.post("/api/v1/customers", headers=auth, json={
        "name": "张三丰", "mobile": "13800138000", "id_number": "11010519491231002X",
        "monthly_income": "8500.00"}), 201)  # fmt: skip
    made = [
        _ok(web.post("/api/v1/loans", headers=auth, json={
            "customer_id": customer["id"], "product_id": product["id"],
            "principal": "12000.00", "periods": 12, "disbursed_on": DISBURSED_ON}), 201)["id"]
        for _ in range(loans)
    ]  # fmt: skip
    return Firm(slug, signed["id"], token, made)


def _wait(url: str, process: subprocess.Popen[bytes], seconds: float = 300) -> None:
    """Until ``url`` answers 200; a busy machine takes a minute or more to start the app."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server at {url} ended with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (local URL)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered at {url} within {seconds:.0f} s")


@contextmanager
def _running(command: list[str], env: dict[str, str], ready: str, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (our own servers)
            command, env={**os.environ, **env}, stdout=out, stderr=out
        )
        try:
            _wait(ready, process)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def loandesk_serve(
    database: Database, secret: dict[str, str], folder: Path, workers: int, redis_url: str
) -> Iterator[str]:
    """``loandesk serve`` (gunicorn, production mode) on a free port as the app role (row-
    level security on); yields its base URL."""
    port = free_port()
    env = {
        "LOANDESK_ENV": "production",
        "LOANDESK_DATABASE_URL": database.app_url,
        "LOANDESK_MIGRATION_DATABASE_URL": database.owner_url,
        "LOANDESK_INSTANCE_PATH": str(folder),
        "LOANDESK_REDIS_URL": redis_url,
        **secret,
    }
    command = [str(BIN / "loandesk"), "serve", "--port", str(port), "--workers", str(workers)]
    base = f"http://127.0.0.1:{port}"
    with _running(command, env, f"{base}/readyz", folder / f"serve-{port}.log"):
        yield base


@contextmanager
def bare_serve(database: Database, folder: Path, workers: int) -> Iterator[str]:
    """``bare_app.py`` under gunicorn with ``loandesk serve``'s settings (sync workers, the
    same number, an access log to standard output); yields its base URL."""
    port = free_port()
    command = [
        str(BIN / "gunicorn"), "--chdir", str(HERE), "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--access-logfile", "-", "bare_app:app",
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    env = {"BENCH_BARE_DATABASE_URL": database.superuser_url}
    with _running(command, env, f"{base}/healthz", folder / f"bare-{port}.log"):
        yield base
