"""``loandesk demo`` and ``loandesk serve`` really serve: the dev server when embedded,
gunicorn in production. Each runs as a subprocess on a free port of 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
LOANDESK = str(Path(sys.executable).parent / "loandesk")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, attempts: int = 100) -> tuple[int, str]:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (local URL)
                return response.status, response.read().decode()
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


def _run(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [LOANDESK, *args],
        env={**os.environ, **env},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_demo_serves_the_demo_tenant(tmp_path: Path) -> None:
    port = _free_port()
    process = _run(
        ["demo", "--port", str(port), "--no-history"], {"LOANDESK_INSTANCE_PATH": str(tmp_path)}
    )
    try:
        # the demo makes its staff and applies its bundle before it serves
        status, body = _get(f"http://127.0.0.1:{port}/t/demo/login", attempts=1200)
        assert status == 200 and 'name="password"' in body
        assert _get(f"http://127.0.0.1:{port}/readyz")[0] == 200
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "admin@demo.loandesk.local" in output


def test_serve_uses_gunicorn_in_production(tmp_path: Path) -> None:
    env = {
        "LOANDESK_INSTANCE_PATH": str(tmp_path),
        "LOANDESK_ENV": "production",
        "LOANDESK_SECRET_KEY": "s" * 40,
        "LOANDESK_MASTER_KEY": "m" * 40,
    }
    assert (
        subprocess.run(
            [LOANDESK, "db", "upgrade"], env={**os.environ, **env}, capture_output=True, check=False
        ).returncode
        == 0
    )
    port = _free_port()
    process = _run(["serve", "--port", str(port), "--workers", "1"], env)
    try:
        assert _get(f"http://127.0.0.1:{port}/healthz") == (200, '{"status":"ok"}\n')
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "gunicorn" in output.lower() or "Booting worker" in output
