"""The install without containers (deploy/onprem): the offline bundle, install.sh and the
systemd units.

The fast tests read the units and the settings template and run ``systemd-analyze verify`` on
the units with their paths pointed at this checkout's ``loandesk``. The slow ones build the
bundle (from the package index, once per session), install it into a staged root in a network
namespace without any network, and there migrate a SQLite database and serve over loopback."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from loandesk.settings import Settings, SettingsError
from tests.deploy.test_compose import resolve_command

ROOT = Path(__file__).resolve().parents[2]
ONPREM = ROOT / "deploy" / "onprem"
UNITS = ONPREM / "systemd"
INSTALL = ONPREM / "install.sh"
ENV_TEMPLATE = ONPREM / "loandesk.env.example"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
SHELLCHECK = shutil.which("shellcheck")
SERVICES = sorted(p.name for p in UNITS.glob("*.service"))
LONG_RUNNING = ["loandesk-web.service", "loandesk-worker@.service", "loandesk-scheduler.service"]
# The system paths the units name, and where a staged install (install.sh --root) puts them.
SYSTEM_PATHS = ("/opt/loandesk", "/etc/loandesk", "/var/lib/loandesk", "/var/backups/loandesk")


def unit_lines(name: str) -> list[tuple[str, str]]:
    """``(key, value)`` of every setting in the unit file, in order."""
    pairs = []
    for line in (UNITS / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            pairs.append((key.strip(), value.strip()))
    return pairs


def unit_values(name: str, key: str) -> list[str]:
    return [v for k, v in unit_lines(name) if k == key]


def render_units(source: Path, destination: Path, paths: dict[str, str]) -> list[Path]:
    """Copies of the units in ``source`` with each system path replaced by ``paths[path]``;
    a template also as its instance ``@1``, as systemd would load it."""
    destination.mkdir(parents=True, exist_ok=True)
    rendered = []
    for unit in sorted(source.iterdir()):
        text = unit.read_text(encoding="utf-8")
        for system_path, real in paths.items():
            text = text.replace(system_path, real)
        names = [unit.name] + ([unit.name.replace("@.", "@1.")] if "@." in unit.name else [])
        for name in names:
            (destination / name).write_text(text, encoding="utf-8")
            rendered.append(destination / name)
    return rendered


def systemd_verify(units: list[Path]) -> tuple[int, str]:
    """``systemd-analyze verify`` in the units' folder: its exit status and what it said.
    A unit is good only when both are clean: an unknown key or a bad value is only a warning."""
    assert SYSTEMD_ANALYZE is not None
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", *(u.name for u in units)],
        cwd=units[0].parent,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
    )
    return result.returncode, (result.stdout + result.stderr).strip()


def assert_verified(units: list[Path]) -> None:
    code, said = systemd_verify(units)
    assert (code, said) == (0, ""), said


def checkout_paths(tmp_path: Path) -> dict[str, str]:
    """The units' paths pointed at this checkout's virtualenv (its ``loandesk`` script) and at
    folders and a settings file in ``tmp_path``."""
    venv = tmp_path / "opt" / "venv"
    (venv / "bin").mkdir(parents=True)
    real = Path(sys.prefix) / "bin" / "loandesk"
    assert real.exists(), "this checkout's virtualenv has no loandesk script"
    (venv / "bin" / "loandesk").symlink_to(real)
    for folder in ("etc", "data", "backups"):
        (tmp_path / folder).mkdir()
    (tmp_path / "etc" / "loandesk.env").write_text("LOANDESK_ENV=embedded\n")
    return {
        "/opt/loandesk": str(tmp_path / "opt"),
        "/etc/loandesk": str(tmp_path / "etc"),
        "/var/lib/loandesk": str(tmp_path / "data"),
        "/var/backups/loandesk": str(tmp_path / "backups"),
    }


needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed here"
)


# --- the units, read ------------------------------------------------------------------------


def test_the_units_are_the_set_the_docs_name() -> None:
    assert {p.name for p in UNITS.iterdir()} == {
        "loandesk.target",
        "loandesk-migrate.service",
        "loandesk-web.service",
        "loandesk-worker@.service",
        "loandesk-scheduler.service",
        "loandesk-backup.service",
        "loandesk-backup.timer",
    }
    docs = (ROOT / "docs" / "onprem.md").read_text(encoding="utf-8")
    for unit in UNITS.iterdir():
        assert unit.name in docs, f"docs/onprem.md does not mention {unit.name}"


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_is_hardened_and_runs_as_loandesk(name: str) -> None:
    values = dict(unit_lines(name))
    assert values["User"] == "loandesk" and values["Group"] == "loandesk"
    assert unit_values(name, "EnvironmentFile")[0] == "/etc/loandesk/loandesk.env"
    assert values["WorkingDirectory"] == "/var/lib/loandesk"
    for key, expected in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "RestrictSUIDSGID": "yes",
        "CapabilityBoundingSet": "",
        "UMask": "0027",
    }.items():
        assert values.get(key) == expected, f"{name}: {key}={values.get(key)}"
    writable = values["ReadWritePaths"].split()
    assert "/var/lib/loandesk" in writable
    # ProtectSystem=strict: every path a unit writes to must be listed
    if name == "loandesk-backup.service":
        assert "/var/backups/loandesk" in writable


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_restart_and_wait_for_the_migrations(name: str) -> None:
    values = dict(unit_lines(name))
    assert values["Restart"] == "on-failure"
    assert "loandesk-migrate.service" in values["Requires"].split()
    assert "loandesk-migrate.service" in values["After"].split()
    assert values["PartOf"] == "loandesk.target"
    assert values["WantedBy"] == "loandesk.target"


def test_migrate_is_a_oneshot_db_upgrade() -> None:
    values = dict(unit_lines("loandesk-migrate.service"))
    assert values["Type"] == "oneshot" and values["RemainAfterExit"] == "yes"
    assert values["ExecStart"] == "/opt/loandesk/venv/bin/loandesk db upgrade"
    assert values["PartOf"] == "loandesk.target"  # a restart of the target migrates again


def test_every_command_the_units_run_is_a_real_cli_command() -> None:
    """Each ExecStart runs the installed `loandesk` with a command and options it has, the
    variables filled in as the units' defaults fill them."""
    defaults = {"WEB_HOST": "127.0.0.1", "WEB_PORT": "8000", "WEB_WORKERS": "4"}
    commands = {}
    for name in SERVICES:
        for line in unit_values(name, "ExecStart"):
            if line.startswith("/bin/sh -c "):
                line = shlex.split(line)[2].removeprefix("exec ").replace("$$", "$")
            words = shlex.split(re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], line))
            words = [w for w in words if w != "$WORKER_ARGS"]
            assert words[0] == "/opt/loandesk/venv/bin/loandesk", f"{name}: {line}"
            command = resolve_command(words[1:])
            commands[name] = command.name
            if command.name == "serve":
                assert words[words.index("--port") + 1] == "8000"
    assert commands == {
        "loandesk-backup.service": "backup",
        "loandesk-migrate.service": "upgrade",
        "loandesk-scheduler.service": "scheduler",
        "loandesk-web.service": "serve",
        "loandesk-worker@.service": "worker",
    }
    # the web unit's defaults are the ones applied above
    assert unit_values("loandesk-web.service", "Environment") == [
        " ".join(f"{k}={v}" for k, v in defaults.items())
    ]
    # a worker's WORKER_ARGS, e.g. a worker of its own for the close of business
    resolve_command(["worker", "--queue", "cob"])


def test_backup_timer_runs_the_backup_service_nightly() -> None:
    timer = (UNITS / "loandesk-backup.timer").read_text(encoding="utf-8")
    assert "OnCalendar=*-*-* 02:30" in timer and "Persistent=true" in timer
    assert "WantedBy=timers.target" in timer
    # docs/deployment.md shows these units no more: it points here
    deployment = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert "deploy/onprem/systemd/loandesk-backup.service" in deployment
    assert "[Timer]" not in deployment


# --- the units, verified by systemd ---------------------------------------------------------


@needs_systemd_analyze
def test_systemd_analyze_verifies_every_unit(tmp_path: Path) -> None:
    units = render_units(UNITS, tmp_path / "units", checkout_paths(tmp_path))
    assert len(units) == len(list(UNITS.iterdir())) + 1  # the worker also as loandesk-worker@1
    assert_verified(units)


@needs_systemd_analyze
@pytest.mark.parametrize(
    ("change", "complaint", "fails"),
    [
        (("/venv/bin/loandesk serve", "/venv/bin/loandesk-nope serve"), "is not executable", True),
        (
            ("Requires=loandesk-migrate.service", "Requires=loandesk-migrat.service"),
            "not found",
            True,
        ),
        (("NoNewPrivileges=yes", "NoNewPriviledges=yes"), "Unknown key", False),
        (("Restart=on-failure", "Restart=sometimes"), "Failed to parse", False),
    ],
)
def test_systemd_analyze_rejects_a_broken_unit(
    tmp_path: Path, change: tuple[str, str], complaint: str, fails: bool
) -> None:
    """The check above can fail: a missing program and a missing dependency fail the verify,
    a misspelt key or a bad value is reported (which assert_verified also refuses)."""
    units = render_units(UNITS, tmp_path / "units", checkout_paths(tmp_path))
    web = tmp_path / "units" / "loandesk-web.service"
    text = web.read_text(encoding="utf-8")
    assert change[0] in text
    web.write_text(text.replace(change[0], change[1]), encoding="utf-8")
    code, said = systemd_verify(units)
    assert complaint in said
    assert (code != 0) is fails
    with pytest.raises(AssertionError):
        assert_verified(units)


# --- the settings template and install.sh, read ---------------------------------------------


def template_values(text: str) -> dict[str, str]:
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, re.MULTILINE))


def test_settings_template_names_real_settings_and_is_refused_until_filled() -> None:
    text = ENV_TEMPLATE.read_text(encoding="utf-8")
    settings = {f"LOANDESK_{f.name.upper()}" for f in dataclasses.fields(Settings)}
    named = set(re.findall(r"^#?(LOANDESK_[A-Z0-9_]+)=", text, re.MULTILINE))
    # LOANDESK_BACKUP_DATABASE_URL is read by `loandesk backup` itself, not a Settings field
    assert named - settings == {"LOANDESK_BACKUP_DATABASE_URL"}
    values = template_values(text)
    assert values["LOANDESK_ENV"] == "production"
    assert values["LOANDESK_INSTANCE_PATH"] == "/var/lib/loandesk"
    assert values["LOANDESK_TEMPLATES_PATH"] == "/opt/loandesk/share/templates"
    loandesk = {k: v for k, v in values.items() if k.startswith("LOANDESK_")}
    with pytest.raises(SettingsError, match="LOANDESK_SECRET_KEY"):
        Settings.from_env(loandesk)  # the @SECRET_KEY@ placeholder is refused
    filled = loandesk | {"LOANDESK_SECRET_KEY": "s" * 64, "LOANDESK_MASTER_KEY": "m" * 64}
    parsed = Settings.from_env(filled)
    assert parsed.env == "production" and parsed.trusted_proxies == 1
    # the web unit's variables, with the unit's defaults
    assert {k: v for k, v in values.items() if k.startswith("WEB_")} == {
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": "8000",
        "WEB_WORKERS": "4",
    }


@pytest.mark.skipif(SHELLCHECK is None, reason="shellcheck is not installed here")
def test_install_script_is_shellcheck_clean() -> None:
    result = subprocess.run(
        [str(SHELLCHECK), "--shell=sh", str(INSTALL)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def test_install_script_refuses_a_folder_that_is_not_a_bundle(tmp_path: Path) -> None:
    shutil.copy2(INSTALL, tmp_path / "install.sh")
    result = subprocess.run(
        ["sh", str(tmp_path / "install.sh"), "--root", str(tmp_path / "root")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "is not an unpacked LoanDesk bundle" in result.stderr
    assert not (tmp_path / "root" / "opt").exists()


def fake_bundle(folder: Path, **values: str) -> Path:
    """A bundle with install.sh and a BUNDLE file but no wheels, its checksums right."""
    folder.mkdir()
    shutil.copy2(INSTALL, folder / "install.sh")
    (folder / "wheels").mkdir()
    fields = {"version": "0.1.0", "python": f"{sys.version_info[0]}.{sys.version_info[1]}"}
    text = "".join(f"{k}={v}\n" for k, v in (fields | values).items())
    (folder / "BUNDLE").write_text(text, encoding="utf-8")
    sums = [
        f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}\n"
        for n in ("install.sh", "BUNDLE")
    ]
    (folder / "SHA256SUMS").write_text("".join(sums), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("values", "refusal"),
    [
        ({"python": "3.99"}, "this bundle's wheels are for Python 3.99"),
        ({"glibc": "9.99"}, "the bundle's wheels need glibc 9.99 or newer"),
    ],
)
def test_install_script_refuses_a_host_the_wheels_do_not_fit(
    tmp_path: Path, values: dict[str, str], refusal: str
) -> None:
    bundle = fake_bundle(tmp_path / "bundle", **values)
    result = subprocess.run(
        ["sh", str(bundle / "install.sh"), "--root", str(tmp_path / "root"),
         "--python", sys.executable],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert refusal in result.stderr
    assert not (tmp_path / "root" / "opt").exists()


def test_install_script_accepts_this_host_up_to_the_wheels(tmp_path: Path) -> None:
    """The same fake bundle with this host's Python and glibc passes those checks, and stops,
    before it changes anything, at the wheelhouse without a LoanDesk wheel."""
    glibc = os.confstr("CS_GNU_LIBC_VERSION") or "glibc 2.17"
    bundle = fake_bundle(tmp_path / "bundle", glibc=glibc.split()[-1])
    result = subprocess.run(
        ["sh", str(bundle / "install.sh"), "--root", str(tmp_path / "root"),
         "--python", sys.executable],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "checked: every file matches SHA256SUMS" in result.stdout
    assert "wheels holds no LoanDesk wheel" in result.stderr
    assert not (tmp_path / "root" / "opt").exists()


# --- the bundle, built, installed without network, run --------------------------------------


def network_namespace_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    return probe.returncode == 0


NO_NETWORK = network_namespace_works()


def offline(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """``command`` in a network namespace of its own: no interface but loopback (down until
    the command brings it up), so nothing reaches a package index or any other host."""
    return subprocess.run(  # type: ignore[call-overload]
        ["unshare", "-n", *command], capture_output=True, text=True, check=False, **kwargs
    )


@pytest.fixture(scope="session")
def bundle(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle, built by the documented command (needs the package index), unpacked."""
    if request.config.getoption("--db") == "postgresql":
        pytest.skip("the bundle's tests do not depend on the database: they run on SQLite only")
    if not NO_NETWORK:
        pytest.skip("unshare -n (a network namespace) is not allowed here")
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, str(ONPREM / "build_bundle.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    (archive,) = out.glob(f"loandesk-*-py{python}.tar.gz")
    assert built.stdout.strip().endswith(str(archive))
    assert re.fullmatch(rf"loandesk-0\.\d+\.\d+-linux_\w+-py{python}\.tar\.gz", archive.name)
    sums = Path(f"{archive}.sha256").read_text(encoding="utf-8").split()
    assert sums[1] == archive.name
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data")
    (unpacked,) = (p for p in out.iterdir() if p.is_dir())
    assert unpacked.name == archive.name.removesuffix(".tar.gz")
    return unpacked


@dataclasses.dataclass
class Installed:
    bundle: Path
    root: Path
    output: str

    @property
    def venv(self) -> Path:
        return self.root / "opt" / "loandesk" / "venv"

    @property
    def env_file(self) -> Path:
        return self.root / "etc" / "loandesk" / "loandesk.env"


@pytest.fixture(scope="session")
def installed(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """install.sh, run with no network, into a staged root."""
    root = tmp_path_factory.mktemp("root")
    result = offline(["sh", str(bundle / "install.sh"), "--root", str(root)])
    assert result.returncode == 0, result.stdout + result.stderr
    return Installed(bundle, root, result.stdout + result.stderr)


@pytest.mark.slow
def test_bundle_holds_the_wheels_units_installer_and_checksums(bundle: Path) -> None:
    names = {p.name for p in bundle.iterdir()}
    assert {"README.md", "install.sh", "loandesk.env.example", "systemd", "wheels", "share",
            "BUNDLE", "SHA256SUMS"} <= names  # fmt: skip
    assert os.access(bundle / "install.sh", os.X_OK)
    assert {p.name for p in (bundle / "systemd").iterdir()} == {p.name for p in UNITS.iterdir()}
    assert (bundle / "share" / "templates" / "base.html").is_file()
    assert (bundle / "share" / "tenants" / "bundle.schema.json").is_file()
    # SHA256SUMS lists every other file, and they match
    listed = {
        line.split("  ", 1)[1]
        for line in (bundle / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    }
    files = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert listed == files - {"SHA256SUMS"}
    subprocess.run(["sha256sum", "--quiet", "--strict", "-c", "SHA256SUMS"], cwd=bundle, check=True)

    wheels = {p.name for p in (bundle / "wheels").iterdir()}
    distributions = {re.sub(r"[-_.]+", "-", w.split("-")[0]).lower() for w in wheels}
    assert all(w.endswith(".whl") for w in wheels)
    # every runtime dependency, the production servers and drivers among them; no test tools
    assert {"loandesk", "flask", "sqlalchemy", "gunicorn", "psycopg", "psycopg-binary", "redis",
            "rq", "weasyprint", "alembic"} <= distributions  # fmt: skip
    assert not {"pytest", "ruff", "mypy", "playwright", "hypothesis"} & distributions
    (loandesk,) = (bundle / "wheels").glob("loandesk-*.whl")
    inside = set(zipfile.ZipFile(loandesk).namelist())
    for expected in (
        "loandesk/web/static/vendor/htmx/htmx.min.js",
        "loandesk/web/static/vendor/echarts/echarts.min.js",
        "loandesk/web/static/css/loandesk.css",
        "loandesk/translations/zh_Hans_CN/LC_MESSAGES/messages.mo",
        "loandesk/migrations/env.py",
        "loandesk/fonts/NotoSerifSC-Regular.subset.woff2",
        "loandesk_contracts/defaults/contract.html",
    ):
        assert expected in inside


@pytest.mark.slow
def test_bundle_installs_and_migrates_and_serves_with_no_network(installed: Installed) -> None:
    """The acceptance point: the offline bundle installs (above, in a network namespace with no
    network) and the installed `loandesk db upgrade` and `loandesk serve` run there too,
    answering over loopback."""
    root, venv = installed.root, installed.venv
    # pip was told never to use an index, and its configuration was kept out
    assert "+ pip install --no-index --find-links " in installed.output
    assert f"installed LoanDesk {version('loandesk')} into " in installed.output
    assert (root / "opt" / "loandesk" / "static" / "vendor" / "htmx" / "htmx.min.js").is_file()
    assert (root / "opt" / "loandesk" / "share" / "templates" / "base.html").is_file()
    assert (root / "usr" / "local" / "bin" / "loandesk").is_file()
    for unit in UNITS.iterdir():
        installed_unit = root / "etc" / "systemd" / "system" / unit.name
        assert installed_unit.read_bytes() == unit.read_bytes()
    env_mode = stat.S_IMODE(installed.env_file.stat().st_mode)
    assert env_mode == 0o640
    settings = template_values(installed.env_file.read_text(encoding="utf-8"))
    assert "@" not in settings["LOANDESK_SECRET_KEY"] + settings["LOANDESK_MASTER_KEY"]
    assert len(settings["LOANDESK_MASTER_KEY"]) >= 48

    # The installed settings file, with what a test host must change: a SQLite database and
    # the staged paths instead of PostgreSQL and Redis and /var/lib/loandesk.
    data = root / "var" / "lib" / "loandesk"
    script = f"""
set -eu
ip link set lo up
echo "interfaces:" $(ip -o link show | cut -d: -f2)
set -a
. {shlex.quote(str(installed.env_file))}
set +a
export LOANDESK_INSTANCE_PATH={shlex.quote(str(data))}
export LOANDESK_TEMPLATES_PATH={shlex.quote(str(root / "opt/loandesk/share/templates"))}
export LOANDESK_DATABASE_URL=sqlite:///{shlex.quote(str(data / "loandesk.sqlite3"))}
export LOANDESK_MIGRATION_DATABASE_URL= LOANDESK_REDIS_URL= LOANDESK_BASE_URL=http://127.0.0.1:8000
export HOME={shlex.quote(str(data))}
cd {shlex.quote(str(data))}
if {venv}/bin/python -c 'import socket; socket.create_connection(("pypi.org", 443), timeout=5)' \
    2>/dev/null; then echo "the network is reachable"; exit 3; fi
{venv}/bin/loandesk db upgrade
echo 'Kx7-vQ2p-Lm9w-Tz4r-Hb8n' | {venv}/bin/loandesk tenant create --slug firm --name Firm \
    --admin-email admin@firm.example --admin-password -
# the server's own log goes to a file, shown on stderr at the end: on stdout its lines
# could land inside the checks' lines below (both write to the same pipe)
{venv}/bin/loandesk serve --host 127.0.0.1 --port 8000 --workers 1 > serve.log 2>&1 &
server=$!
trap 'kill $server; wait $server || true; cat serve.log >&2' EXIT
{venv}/bin/python - <<'EOF'
import time, urllib.request
def get(path):
    return urllib.request.urlopen("http://127.0.0.1:8000" + path, timeout=5)
for _ in range(120):
    try:
        get("/healthz")
        break
    except OSError:
        time.sleep(0.5)
for path in ("/healthz", "/readyz", "/t/firm/login", "/static/vendor/htmx/htmx.min.js"):
    response = get(path)
    print("GET", path, response.status, len(response.read()))
EOF
"""
    result = offline(["sh", "-c", script], timeout=600)
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    assert "interfaces: lo" in result.stdout.splitlines()  # the namespace's only one
    assert "database at " in result.stdout
    for path in ("/healthz", "/readyz", "/t/firm/login", "/static/vendor/htmx/htmx.min.js"):
        assert re.search(rf"^GET {re.escape(path)} 200 [1-9]\d*$", result.stdout, re.M), said
    assert (data / "loandesk.sqlite3").is_file()


@pytest.mark.slow
def test_systemd_analyze_verifies_the_installed_units(installed: Installed, tmp_path: Path) -> None:
    if SYSTEMD_ANALYZE is None:
        pytest.skip("systemd-analyze is not installed here")
    paths = {p: str(installed.root) + p for p in SYSTEM_PATHS}
    units = render_units(installed.root / "etc" / "systemd" / "system", tmp_path, paths)
    assert_verified(units)


@pytest.mark.slow
def test_install_again_upgrades_in_place_and_keeps_the_settings(installed: Installed) -> None:
    env_file = installed.env_file
    kept = env_file.read_text(encoding="utf-8") + "LOANDESK_LOG_FORMAT=json\n"
    env_file.write_text(kept, encoding="utf-8")
    example = env_file.with_name("loandesk.env.example")
    example.write_text("stale\n", encoding="utf-8")
    (installed.root / "opt" / "loandesk" / "share" / "templates" / "stale.html").write_text("x")
    css = installed.root / "opt" / "loandesk" / "static" / "css" / "loandesk.css"
    css.unlink()  # LoanDesk's package is installed again from the bundle, version unchanged

    again = offline(["sh", str(installed.bundle / "install.sh"), "--root", str(installed.root)])
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"kept {env_file}" in again.stdout
    assert env_file.read_text(encoding="utf-8") == kept
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o640
    assert example.read_bytes() == ENV_TEMPLATE.read_bytes()  # the new template beside it
    assert not (installed.root / "opt" / "loandesk" / "share" / "templates" / "stale.html").exists()
    assert "systemctl restart loandesk.target" in again.stdout
    assert css.is_file()
    # the command for admins: the settings file read, then the installed loandesk
    wrapper = installed.root / "usr" / "local" / "bin" / "loandesk"
    started = subprocess.run(
        [str(wrapper), "db", "--help"], capture_output=True, text=True, check=False
    )
    assert started.returncode == 0, started.stderr
    assert "upgrade" in started.stdout
    if SHELLCHECK is not None:
        checked = subprocess.run([SHELLCHECK, str(wrapper)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout


@pytest.mark.slow
def test_install_refuses_a_bundle_that_does_not_match_its_checksums(
    installed: Installed, tmp_path: Path
) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(installed.bundle, copy, copy_function=os.link)  # hard links: no 100 MB copy
    readme = copy / "README.md"
    readme.unlink()  # its own file now, not a link to the bundle's
    readme.write_text("changed on the way\n", encoding="utf-8")
    result = offline(["sh", str(copy / "install.sh"), "--root", str(tmp_path / "root")])
    assert result.returncode == 1
    assert "does not match its SHA256SUMS" in result.stderr
    assert not (tmp_path / "root" / "opt").exists()
