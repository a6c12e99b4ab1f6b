#!/usr/bin/env python3
"""Set-up and everyday commands on a fresh clone, with nothing but Python 3.11+.

python3 dev.py demo    virtualenv + install + migrate + demo tenant, serve on 127.0.0.1:5000
python3 dev.py test    virtualenv + install, then lint, types, and the whole suite:
                       on SQLite, and on PostgreSQL + Redis when they answer (required in CI),
                       the two side by side
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".installed"
PG_URL = os.environ.get("LOANDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# a database of its own: the job tests empty it
REDIS_URL = os.environ.get("LOANDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def run(*args: str | Path, env: dict[str, str] | None = None) -> int:
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.call([str(a) for a in args], cwd=ROOT, env=env)


def ensure_venv() -> None:
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    inputs = (ROOT / "pyproject.toml").stat().st_mtime
    if STAMP.exists() and STAMP.stat().st_mtime >= inputs:
        return
    if run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip") != 0:
        sys.exit("pip could not be upgraded")
    if run(PY, "-m", "pip", "install", "--quiet", "-e", ".[test]") != 0:
        sys.exit("installing LoanDesk failed")
    STAMP.touch()


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def suite_env(**extra: str) -> dict[str, str]:
    """The environment of a pytest run. The suite starts many Python processes (workers,
    schedulers, the CLI): they keep LoanDesk's compiled bytecode, under .venv rather than the
    source tree, even where the environment turns that off (PYTHONDONTWRITEBYTECODE), or each
    of them compiles its ~300 modules again."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(VENV / "pycache"), **extra}


def pytest_together(runs: list[tuple[str, list[str], dict[str, str]]]) -> list[str]:
    """Run the suites side by side (they share nothing: each has its own database, the
    PostgreSQL one its own Redis database), each into its own log, printed when it ends;
    the names of those that failed."""
    started = []
    for name, extra, env in runs:
        log = tempfile.NamedTemporaryFile("w+", prefix="loandesk-pytest-", suffix=".log")  # noqa: SIM115  (closed when the run is printed)
        command = [str(PY), "-m", "pytest", "-m", "slow or not slow", *extra]
        print(f"$ {' '.join(command)}  ({name}, started)", flush=True)
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        started.append((name, process, log))
    failed = []
    for name, process, log in started:
        code = process.wait()
        log.seek(0)
        print(f"\n===== {name} =====", flush=True)
        sys.stdout.write(log.read())
        log.close()
        if code == 5:
            print("pytest collected no tests: that is a failure", flush=True)
        if code != 0:
            failed.append(name)
    return failed


def test(args: list[str]) -> int:
    ensure_venv()
    steps = [
        ("ruff check", lambda: run(BIN / "ruff", "check", ".")),
        ("ruff format", lambda: run(BIN / "ruff", "format", "--check", ".")),
        ("mypy", lambda: run(BIN / "mypy")),
    ]
    runs: list[tuple[str, list[str], dict[str, str]]] = [
        ("pytest on SQLite", ["--db=sqlite", *args], suite_env())
    ]
    if answers("127.0.0.1", 5432):
        env = suite_env(LOANDESK_TEST_POSTGRES_URL=PG_URL)
        if answers("127.0.0.1", 6379):
            env["LOANDESK_TEST_REDIS_URL"] = REDIS_URL
        elif os.environ.get("CI"):
            print("Redis does not answer on 127.0.0.1:6379", flush=True)
            return 1
        runs.append(("pytest on PostgreSQL", ["--db=postgresql", *args], env))
    elif os.environ.get("CI"):
        print("PostgreSQL does not answer on 127.0.0.1:5432", flush=True)
        return 1
    else:
        print("note: PostgreSQL is not running here; its part of the suite is left to CI")
    failed = [name for name, step in steps if step() != 0]
    failed += pytest_together(runs)
    print("failed: " + ", ".join(failed) if failed else "all checks passed", flush=True)
    return 1 if failed else 0


def demo(args: list[str]) -> int:
    ensure_venv()
    return run(BIN / "loandesk", "demo", *args)


def main() -> int:
    commands = {"test": test, "demo": demo}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
