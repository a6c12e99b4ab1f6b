"""The Compose deployment (deploy/compose), the image (deploy/Dockerfile) and the wheel it
installs. No container daemon runs these tests: they read the files as Docker and Compose
would and check them against the code (settings, CLI commands, package data)."""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from loandesk.app import create_app
from loandesk.cli import cli
from loandesk.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = ROOT / "deploy" / "compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
APP_SERVICES = {"migrate", "web", "worker", "scheduler"}
SETTING_LINE = re.compile(r"^#?\s*(LOANDESK_[A-Z0-9_]+)=", re.MULTILINE)
ENV_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$", re.MULTILINE)
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def setting_names() -> set[str]:
    """Every variable ``Settings.from_env`` reads."""
    return {f"LOANDESK_{f.name.upper()}" for f in dataclasses.fields(Settings) if f.name != "extra"}


def env_example() -> dict[str, str]:
    return dict(ENV_LINE.findall(ENV_EXAMPLE.read_text(encoding="utf-8")))


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$, from ``env`` only."""

    def value(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in env and (env[name] or not op or not op.startswith(":")):
            return env[name]
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            raise AssertionError(f"compose needs {name}: {arg}")
        return ""

    return VARIABLE.sub(value, text).replace("$$", "$")


def compose_model() -> dict[str, Any]:
    """compose.yaml as `docker compose --env-file .env.example config` reads it: interpolated,
    then YAML (merge keys included)."""
    loaded = yaml.safe_load(interpolate(COMPOSE_FILE.read_text(encoding="utf-8"), env_example()))
    assert isinstance(loaded, dict)
    return loaded


def resolve_command(argv: list[str]) -> click.Command:
    """The ``loandesk`` (sub)command ``argv`` names; every ``--option`` must be one of its own."""
    command: click.Command = cli
    rest = list(argv)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        assert name in command.commands, f"`loandesk {' '.join(argv)}`: no command {name!r}"
        command = command.commands[name]
    assert not isinstance(command, click.Group), f"`loandesk {' '.join(argv)}` names a group"
    options = {opt for param in command.params for opt in param.opts}
    for word in rest:
        if word.startswith("--"):
            assert word.split("=")[0] in options, f"`loandesk {' '.join(argv)}`: no {word}"
    return command


# --- (a) settings ---------------------------------------------------------------------------


def test_env_example_lists_every_setting_and_no_other() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    listed = set(SETTING_LINE.findall(text))
    assert setting_names() - listed == set(), "settings missing from deploy/compose/.env.example"
    assert listed - setting_names() == set(), ".env.example names settings that do not exist"


def test_readme_configuration_table_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `LOANDESK_")]
    in_table = {name for row in rows for name in re.findall(r"`(LOANDESK_[A-Z0-9_]+)`", row)}
    assert setting_names() - in_table == set(), "settings missing from README's table"
    assert in_table - setting_names() == set(), "README's table names settings that do not exist"


def test_env_example_values_are_read_by_the_settings() -> None:
    """Every value .env.example shows, uncommented, parses; with the CHANGE-ME keys left in,
    production mode refuses to start."""
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    shown = {
        name: value.split("  ")[0].strip()
        for name, value in re.findall(r"^#?\s*(LOANDESK_[A-Z0-9_]+)=(.*)$", text, re.MULTILINE)
        if "${" not in value
    }
    shown.pop("LOANDESK_STORAGE_BACKEND")  # s3 needs the rest of its settings; local parses
    settings = Settings.from_env(shown | {"LOANDESK_ENV": "embedded"})
    assert settings.base_url == "https://loans.example.cn"
    assert settings.trusted_proxies == 1
    from loandesk.settings import SettingsError

    with pytest.raises(SettingsError, match="LOANDESK_SECRET_KEY"):
        Settings.from_env(shown | {"LOANDESK_ENV": "production"})


# --- (b) compose ----------------------------------------------------------------------------


def _compose_available() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(
    not _compose_available(),
    reason="`docker compose` (the Compose plugin) is not installed here; "
    "test_compose_file_structure reads the file instead",
)
def test_docker_compose_config_accepts_the_file() -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "--env-file", str(ENV_EXAMPLE), "config"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_compose_file_structure() -> None:
    model = compose_model()
    services = model["services"]
    assert set(services) == APP_SERVICES | {"backup", "static", "nginx", "db", "redis"}

    # one-shot migrations as the owner; everything of the app waits for them to succeed
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "scheduler"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["db"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["nginx"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert services["nginx"]["depends_on"]["static"]["condition"] == (
        "service_completed_successfully"
    )

    # the app's processes: one image, real commands, production, the right roles
    for name in APP_SERVICES:
        service = services[name]
        assert service["image"] == "loandesk:latest"
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (COMPOSE_DIR / service["build"]["context"] / "deploy" / "Dockerfile").is_file()
        resolve_command(service["command"])
        env = service["environment"]
        settings = Settings.from_env(
            {**env, "LOANDESK_SECRET_KEY": "s" * 40, "LOANDESK_MASTER_KEY": "m" * 40}
        )
        assert settings.env == "production"
        assert settings.trusted_proxies == 1  # nginx, the one proxy
        assert settings.database_url.startswith("postgresql://loandesk_app:change-me-app@db:")
        assert settings.owner_database_url.startswith(
            "postgresql://loandesk_owner:change-me-owner@db:"
        )
        assert settings.redis_url == "redis://redis:6379/0"
        assert service["env_file"] == [{"path": ".env", "required": False}]
        assert "instance:/var/lib/loandesk" in service["volumes"]
    assert resolve_command(services["web"]["command"]).name == "serve"
    assert services["web"]["command"][-2:] == ["--workers", "4"]
    assert services["worker"]["deploy"]["replicas"] == 2  # WORKER_REPLICAS; scalable
    assert "deploy" not in services["scheduler"]  # one scheduler

    # the web's gunicorn workers add up their metrics in a fresh folder of its own
    web_env = services["web"]["environment"]
    metrics_dir = web_env["PROMETHEUS_MULTIPROC_DIR"]
    assert [t.split(":")[0] for t in services["web"]["tmpfs"]] == [metrics_dir]
    assert "uid=10001" in services["web"]["tmpfs"][0]  # the image's user writes there
    assert {k: v for k, v in web_env.items() if k != "PROMETHEUS_MULTIPROC_DIR"} == (
        services["worker"]["environment"]
    )

    # backups on demand (profile "tools"), dumped as the role that bypasses row-level security
    backup = services["backup"]
    assert backup["profiles"] == ["tools"] and backup["restart"] == "no"
    assert resolve_command(backup["command"]).name == "backup"
    assert backup["command"][-2:] == ["--to", "/backups"]
    assert backup["environment"]["LOANDESK_BACKUP_DATABASE_URL"].startswith(
        "postgresql://loandesk_backup:change-me-backup@db:5432/loandesk"
    )
    assert backup["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert {"instance:/var/lib/loandesk", "./backups:/backups"} == set(backup["volumes"])
    for name in APP_SERVICES:
        assert "profiles" not in services[name], name

    # healthchecks: web asks /healthz; the rest check themselves or say why they cannot
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "pg_isready -h 127.0.0.1 " in " ".join(services["db"]["healthcheck"]["test"])
    assert "ping" in services["redis"]["healthcheck"]["test"]
    assert services["nginx"]["healthcheck"]["test"]
    for name in ("migrate", "static", "worker", "scheduler", "backup"):
        assert services[name]["healthcheck"] == {"disable": True}, name

    assert services["db"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:")
    assert services["nginx"]["ports"] == ["80:80", "443:443"]

    # named volumes are declared, bind mounts name files that exist
    declared = set(model["volumes"])
    used = set()
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                if name == "nginx" and source.startswith("./tls/"):
                    continue  # the operator's certificate (TLS_CERT_FILE, TLS_KEY_FILE)
                if name == "backup" and source == "./backups":
                    continue  # the operator's folder for archives (BACKUP_DIR)
                assert (COMPOSE_DIR / source).is_file(), f"{name}: {source} does not exist"
            else:
                used.add(source)
    assert used == declared == {"pgdata", "redis", "instance", "static"}


def test_compose_needs_the_secrets_from_env() -> None:
    """Without the passwords and the certificate, compose refuses the file (${VAR:?})."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    needed = ("POSTGRES_PASSWORD", "DB_OWNER_PASSWORD", "DB_APP_PASSWORD", "DB_BACKUP_PASSWORD")
    for name in (*needed, "TLS_CERT_FILE"):
        env = env_example()
        del env[name]
        with pytest.raises(AssertionError, match=name):
            interpolate(text, env)
    # every variable compose.yaml reads is in .env.example (a setting may be commented out)
    documented = set(env_example()) | set(SETTING_LINE.findall(ENV_EXAMPLE.read_text()))
    assert {m.group(1) for m in VARIABLE.finditer(text)} <= documented


def test_postgres_init_script_creates_the_roles_compose_connects_as() -> None:
    script = COMPOSE_DIR / "postgres" / "10-loandesk-roles.sh"
    text = script.read_text(encoding="utf-8")
    subprocess.run(["sh", "-n", str(script)], check=True)
    assert os.access(script, os.X_OK)
    app_role = re.search(r"CREATE ROLE loandesk_app LOGIN PASSWORD :'app_password' (.*);", text)
    assert app_role is not None
    assert {"NOSUPERUSER", "NOBYPASSRLS"} <= set(app_role.group(1).split())
    assert "CREATE ROLE loandesk_owner LOGIN PASSWORD :'owner_password';" in text
    assert "CREATE DATABASE loandesk OWNER loandesk_owner;" in text
    backup_role = re.search(
        r"CREATE ROLE loandesk_backup LOGIN PASSWORD :'backup_password' (.*);", text
    )
    assert backup_role is not None
    assert {"NOSUPERUSER", "BYPASSRLS"} <= set(backup_role.group(1).split())
    assert "GRANT pg_read_all_data TO loandesk_backup;" in text
    # the example passwords are refused (before psql, which this PATH would not find: 127)
    example = env_example()
    result = subprocess.run(
        [shutil.which("sh") or "/bin/sh", str(script)],
        env={
            "PATH": "/nonexistent",
            "DB_OWNER_PASSWORD": example["DB_OWNER_PASSWORD"],
            "DB_APP_PASSWORD": example["DB_APP_PASSWORD"],
            "DB_BACKUP_PASSWORD": example["DB_BACKUP_PASSWORD"],
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "still the examples" in result.stderr


@pytest.mark.parametrize("attachment_max_size", [None, 1024, 15 * 1024 * 1024, 100 * 1024 * 1024])
def test_nginx_body_limit_is_the_apps(tmp_path: Path, attachment_max_size: int | None) -> None:
    """client_max_body_size comes from LOANDESK_ATTACHMENT_MAX_SIZE exactly as the app's
    MAX_CONTENT_LENGTH does."""
    script = COMPOSE_DIR / "nginx" / "18-loandesk-body-size.envsh"
    assert os.access(script, os.X_OK)  # the nginx image sources only executable .envsh files
    env = {"PATH": os.environ["PATH"]}
    if attachment_max_size is not None:
        env["LOANDESK_ATTACHMENT_MAX_SIZE"] = str(attachment_max_size)
    result = subprocess.run(
        ["sh", "-c", f'. "{script}"; echo "$NGINX_CLIENT_MAX_BODY_SIZE"'],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    overrides = {} if attachment_max_size is None else {"attachment_max_size": attachment_max_size}
    app = create_app(Settings(instance_path=tmp_path, **overrides))
    assert int(result.stdout) == app.config["MAX_CONTENT_LENGTH"]

    conf = (COMPOSE_DIR / "nginx" / "nginx.conf").read_text(encoding="utf-8")
    assert "client_max_body_size ${NGINX_CLIENT_MAX_BODY_SIZE};" in conf


def test_nginx_conf_proxies_with_the_headers_the_app_believes() -> None:
    conf = (COMPOSE_DIR / "nginx" / "nginx.conf").read_text(encoding="utf-8")
    # envsubst fills in only variables of the environment; the only one is the body size
    placeholders = set(re.findall(r"\$\{(\w+)\}", conf))
    assert placeholders == {"NGINX_CLIENT_MAX_BODY_SIZE"}
    assert "server web:8000;" in conf
    for header in ("Host $host", "X-Forwarded-For", "X-Forwarded-Proto $scheme"):
        assert f"proxy_set_header {header}" in conf
    assert "ssl_certificate /etc/nginx/tls/cert.pem;" in conf
    assert "ssl_certificate_key /etc/nginx/tls/key.pem;" in conf
    mounts = compose_model()["services"]["nginx"]["volumes"]
    # the stock default.conf (a second server on port 80) is replaced, not kept beside it
    assert "./nginx/nginx.conf:/etc/nginx/templates/default.conf.template:ro" in mounts
    assert "./tls/fullchain.pem:/etc/nginx/tls/cert.pem:ro" in mounts
    assert "./tls/privkey.pem:/etc/nginx/tls/key.pem:ro" in mounts
    static = re.search(r"location /static/ \{\s*alias (\S+);", conf)
    assert static is not None and static.group(1) == "/srv/static/"
    assert "static:/srv/static:ro" in mounts
    # the app serves its core assets at /static/, as nginx does
    assert create_app.__module__ == "loandesk.app"
    from loandesk import app as app_module

    assert (app_module.PACKAGE_DIR / "web" / "static" / "css" / "loandesk.css").is_file()


# --- (c) Dockerfile -------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str, str]]:
    """(stage, INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    instructions = []
    stage = ""
    for line in lines:
        instruction, _, arguments = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            stage = arguments.split(" AS ")[-1].strip() if " AS " in arguments else arguments
        instructions.append((stage, instruction.upper(), arguments.strip()))
    return instructions


def dockerignore_patterns() -> list[str]:
    text = (ROOT / ".dockerignore").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def test_dockerfile_copies_what_exists_and_is_sent() -> None:
    ignored = dockerignore_patterns()
    copied = []
    for _stage, instruction, arguments in dockerfile_instructions():
        if instruction not in ("COPY", "ADD") or "--from=" in arguments:
            continue
        words = [w for w in shlex.split(arguments) if not w.startswith("--")]
        for source in words[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            for pattern in ignored:
                assert not fnmatch.fnmatch(source, pattern.rstrip("/")), (
                    f"COPY {source}: excluded by .dockerignore ({pattern})"
                )
            copied.append(source)
    assert {"pyproject.toml", "platform", "plugins", "templates", "tenants"} <= set(copied)


def test_dockerfile_runtime_image() -> None:
    instructions = dockerfile_instructions()
    args = {a.split("=")[0]: a.split("=", 1)[1] for _s, i, a in instructions if i == "ARG"}
    froms = [a for _s, i, a in instructions if i == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS builder", "${PYTHON_IMAGE} AS runtime"]
    assert args["PYTHON_IMAGE"] == "python:3.11-slim-bookworm"
    runtime = [(i, a) for s, i, a in instructions if s == "runtime"]
    run = " ".join(a for i, a in runtime if i == "RUN")
    builder_run = " ".join(a for s, i, a in instructions if s == "builder" and i == "RUN")
    assert "pip wheel --wheel-dir /wheels ." in builder_run  # the project and its dependencies
    assert "--no-index --find-links /wheels loandesk" in run  # the app only from those wheels
    installed = re.search(r"apt-get install -y --no-install-recommends ([^&]+)&&", run)
    assert installed is not None
    assert set(installed.group(1).replace("\\", " ").split()) == {
        "libpango-1.0-0",
        "libpangoft2-1.0-0",
        "postgresql-client-15",  # loandesk backup|restore
    }

    users = [a for i, a in runtime if i == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "--uid " + users[-1].split(":")[0] in run

    env: dict[str, str] = {}
    for i, a in runtime:
        if i == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", a)))
    assert env["LOANDESK_ENV"] == "production"
    settings_vars = {k for k in env if k.startswith("LOANDESK_")}
    assert settings_vars <= setting_names()
    # templates/ is not in the wheel: the image copies it and the settings point at the copy
    copies = {shlex.split(a)[-2]: shlex.split(a)[-1] for i, a in runtime if i == "COPY"}
    assert env["LOANDESK_TEMPLATES_PATH"] == copies["templates"]
    assert "tenants" in copies

    entrypoint = json.loads(next(a for i, a in runtime if i == "ENTRYPOINT"))
    command = json.loads(next(a for i, a in runtime if i == "CMD"))
    assert entrypoint == ["loandesk"]
    assert resolve_command(command).name == "serve"
    port = command[command.index("--port") + 1]
    assert [a for i, a in runtime if i == "EXPOSE"] == [port]
    healthcheck = next(a for i, a in runtime if i == "HEALTHCHECK")
    assert f"http://127.0.0.1:{port}/healthz" in healthcheck


def test_image_commands_are_real_cli_commands() -> None:
    """What the docs and compose run in the image: every one a real `loandesk` command."""
    for argv in (["serve", "--host", "127.0.0.1", "--port", "8000"], ["worker"], ["scheduler"]):
        resolve_command(argv)
    resolve_command(["db", "upgrade"])
    with pytest.raises(AssertionError, match="no command"):
        resolve_command(["db", "migrate"])
    with pytest.raises(AssertionError, match="no --bind"):
        resolve_command(["serve", "--bind", "127.0.0.1:8000"])


# --- (d) the wheel --------------------------------------------------------------------------


@pytest.mark.slow
def test_wheel_carries_templates_translations_static_and_fonts(tmp_path: Path) -> None:
    """Built from a clean copy of the checkout (a stale build/ could hide a missing file):
    every file of the packages, Python or not, is in the wheel."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "pyproject.toml", "README.md",
         "LICENSE", "platform", "plugins"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    source = tmp_path / "src"
    for name in listed:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path / "wheels"), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = (tmp_path / "wheels").glob("loandesk-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    package_files = [
        name.split("/", 1)[1]
        for name in listed
        if name.startswith(("platform/loandesk/", "plugins/loandesk_"))
        and Path(name).name != "README.md"
        and "__pycache__" not in name
    ]
    missing = sorted(set(package_files) - names)
    assert missing == []
    for expected in (
        "loandesk/translations/zh_Hans_CN/LC_MESSAGES/messages.mo",
        "loandesk/web/static/css/loandesk.css",
        "loandesk/web/static/vendor/htmx/htmx.min.js",
        "loandesk/fonts/NotoSerifSC-Regular.subset.woff2",
        "loandesk_contracts/defaults/contract.html",
        "loandesk_credit/templates/credit/queries.html",
        "loandesk_risk/templates/risk/index.html",
    ):
        assert expected in names
    # templates/ at the top of the tree is not package data: the image copies it
    assert not any(name.startswith("templates/") for name in names)


# --- the database's first start, for real ---------------------------------------------------

INITDB = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


@pytest.mark.slow
@pytest.mark.skipif(not INITDB, reason="PostgreSQL's server binaries (initdb) are not installed")
def test_init_script_and_migrations_on_a_fresh_cluster() -> None:
    """On a throw-away PostgreSQL cluster (unix socket only, passwords checked): the init script
    creates the roles and the database, `loandesk db upgrade` migrates as the owner with the
    URLs compose gives, and the app's role is bound by row-level security and owns nothing."""
    # a short path of its own (a socket path has ~100 characters at most; pytest's tmp_path
    # is long and closed to other users)
    tmp_path = Path(tempfile.mkdtemp(prefix="ldpg-", dir="/tmp"))
    try:
        _fresh_cluster(tmp_path)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def _fresh_cluster(tmp_path: Path) -> None:
    import psycopg

    bin_dir = INITDB[-1].parent
    as_postgres_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        as_postgres_user = ["runuser", "-u", "nobody", "--"]
        os.chown(tmp_path, 65534, 65534)
    data, socket_dir, port = tmp_path / "data", tmp_path, "25433"
    superuser_password = "super-" + os.urandom(8).hex()
    (tmp_path / "pw").write_text(superuser_password)
    if as_postgres_user:
        os.chown(tmp_path / "pw", 65534, 65534)
    subprocess.run(
        [*as_postgres_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
         "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
         f"--pwfile={tmp_path / 'pw'}"],
        check=True, capture_output=True,
    )  # fmt: skip
    pg_ctl = [*as_postgres_user, str(bin_dir / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        [*pg_ctl, "-l", str(tmp_path / "log"), "-w", "start",
         "-o", f"-k {socket_dir} -p {port} -c listen_addresses=''"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        owner_password, app_password = "owner-" + os.urandom(8).hex(), "app-" + os.urandom(8).hex()
        backup_password = "backup-" + os.urandom(8).hex()
        socket = {"PGHOST": str(socket_dir), "PGPORT": port}
        subprocess.run(
            ["sh", str(COMPOSE_DIR / "postgres" / "10-loandesk-roles.sh")],
            env={"PATH": os.environ["PATH"], **socket, "PGPASSWORD": superuser_password,
                 "POSTGRES_USER": "postgres", "DB_OWNER_PASSWORD": owner_password,
                 "DB_APP_PASSWORD": app_password, "DB_BACKUP_PASSWORD": backup_password},
            check=True, capture_output=True,
        )  # fmt: skip

        # compose.yaml's URLs, with this cluster's socket instead of db:5432
        app_env = compose_model()["services"]["migrate"]["environment"]
        where = f"@/loandesk?host={socket_dir}&port={port}"

        def url(name: str, password: str) -> str:
            return re.sub(r":[^:@]+@db:5432/loandesk$", f":{password}{where}", app_env[name])

        env = {
            "PATH": os.environ["PATH"],
            "LOANDESK_ENV": "production",
            "LOANDESK_SECRET_KEY": os.urandom(24).hex(),
            "LOANDESK_MASTER_KEY": os.urandom(24).hex(),
            "LOANDESK_INSTANCE_PATH": str(tmp_path / "instance"),
            "LOANDESK_DATABASE_URL": url("LOANDESK_DATABASE_URL", app_password),
            "LOANDESK_MIGRATION_DATABASE_URL": url(
                "LOANDESK_MIGRATION_DATABASE_URL", owner_password
            ),
        }
        assert env["LOANDESK_DATABASE_URL"].startswith("postgresql://loandesk_app:")
        loandesk = Path(sys.executable).parent / "loandesk"
        result = subprocess.run(
            [str(loandesk), "db", "upgrade"], env=env, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("database at ")

        as_app = {"host": str(socket_dir), "port": port, "dbname": "loandesk"}
        as_app["user"] = "loandesk_app"
        with psycopg.connect(**as_app, password=app_password) as c:
            role = c.execute(
                "select rolsuper, rolbypassrls from pg_roles where rolname = current_user"
            ).fetchone()
            assert role == (False, False)
            owned = c.execute(
                "select count(*) from pg_tables where tableowner = current_user"
            ).fetchone()
            assert owned == (0,)
            forced = c.execute(
                "select count(*) from pg_class where relrowsecurity and relforcerowsecurity"
            ).fetchone()
            assert forced is not None and forced[0] > 10
            # granted its rights by the upgrade (without them: "permission denied")
            assert c.execute("select count(*) from tenants").fetchone() is not None
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(**as_app, password="wrong")

        # compose's backup service: a tenant's rows dumped as the backup role, through FORCE
        # row-level security (as the owner, pg_dump refuses)
        created = subprocess.run(
            [str(loandesk), "tenant", "create", "--slug", "firm-a", "--name", "Firm A",
             "--admin-email", "admin@firm-a.example", "--admin-password", "-"],
            env=env, input="a-long-enough-password-42\n", capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        backup_env = compose_model()["services"]["backup"]["environment"]
        folder = tmp_path / "backups"
        folder.mkdir()
        backed_up = subprocess.run(
            [str(loandesk), "backup", "--to", str(folder)],
            env={**env, "LOANDESK_BACKUP_DATABASE_URL": re.sub(
                r":[^:@]+@db:5432/loandesk$", f":{backup_password}{where}",
                backup_env["LOANDESK_BACKUP_DATABASE_URL"])},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert backed_up.returncode == 0, backed_up.stderr
        assert len(list(folder.glob("loandesk-*.tar"))) == 1
        with tarfile.open(next(folder.glob("loandesk-*.tar"))) as archive:
            manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest["tables"]["tenants"] == 1
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True, check=False)
