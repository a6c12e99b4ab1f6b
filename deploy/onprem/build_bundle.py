#!/usr/bin/env python3
"""Build LoanDesk's offline bundle: everything a host without internet and without containers
needs to install LoanDesk (docs/onprem.md).

    python3 deploy/onprem/build_bundle.py --out dist/ [--python /usr/bin/python3.11]

writes ``dist/loandesk-<version>-<platform>-py<X.Y>.tar.gz`` (and a ``.sha256`` beside it):

    loandesk-<version>-<platform>-py<X.Y>/
        README.md             how to install (this folder's BUNDLE-README.md)
        install.sh            run as root on the target host
        loandesk.env.example  every setting the install writes into /etc/loandesk/loandesk.env
        systemd/              the units
        wheels/               the LoanDesk wheel and a wheel of every runtime dependency
        share/templates/      the shell's templates (not package data: LOANDESK_TEMPLATES_PATH)
        share/tenants/        the tenant-bundle README and schema
        BUNDLE                version, Python, platform, commit, time of the build
        SHA256SUMS            of every other file (``sha256sum -c SHA256SUMS``)

The wheels are built by ``--python``'s pip (default: the Python running this script) from the
package index its pip is configured with, so they fit that interpreter's version and platform:
build on a machine like the target (same CPU architecture, Python minor version and libc
family, e.g. Debian/Ubuntu x86_64 with Python 3.11). Needs the index once; the target never.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# What the wheel is built from (a clean copy: a stale build/ in the checkout could hide a file
# missing from the package data).
WHEEL_SOURCES = ("pyproject.toml", "README.md", "LICENSE", "platform", "plugins")
SHARED = ("templates", "tenants")
UNIT_SUFFIXES = (".service", ".timer", ".target")


class BuildError(Exception):
    """The bundle could not be built; the message says why."""


def target_of(python: str) -> dict[str, str]:
    """The version and platform ``python`` builds wheels for."""
    probe = "\n".join(
        [
            "import json, os, sys, sysconfig",
            "glibc = os.confstr('CS_GNU_LIBC_VERSION') if 'CS_GNU_LIBC_VERSION' in"
            " os.confstr_names else None",
            "print(json.dumps({'version': '%d.%d' % sys.version_info[:2],",
            " 'platform': sysconfig.get_platform().replace('-', '_').replace('.', '_'),",
            " 'glibc': glibc.split()[-1] if glibc else ''}))",
        ]
    )
    try:
        out = subprocess.run(  # noqa: S603  (the interpreter the builder named)
            [python, "-c", probe], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise BuildError(f"cannot run {python}: {error}") from None
    target: dict[str, str] = json.loads(out)
    if tuple(int(p) for p in target["version"].split(".")) < (3, 11):
        raise BuildError(f"{python} is Python {target['version']}; LoanDesk needs 3.11 or newer")
    return target


def project_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def tracked_files(paths: tuple[str, ...]) -> list[str]:
    """The files under ``paths`` that git would commit (tracked or new, not ignored)."""
    try:
        out = subprocess.run(  # noqa: S603
            ["git", "ls-files", "-co", "--exclude-standard", *paths],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        raise BuildError("build from a git checkout (git ls-files lists the sources)") from None
    return [name for name in out.splitlines() if (ROOT / name).is_file()]


def copy_files(names: list[str], destination: Path, strip: str = "") -> None:
    for name in names:
        target = destination / name.removeprefix(strip)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


def build_wheels(python: str, source: Path, wheels: Path) -> None:
    """The LoanDesk wheel and every runtime dependency's (no test or bench extras)."""
    command = [python, "-m", "pip", "wheel", "--wheel-dir", str(wheels), str(source)]
    print("+", " ".join(command), flush=True)
    if subprocess.run(command, check=False).returncode != 0:  # noqa: S603
        raise BuildError("pip could not build the wheels (see its output above)")
    if not list(wheels.glob("loandesk-*.whl")):
        raise BuildError("pip built no LoanDesk wheel")


LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def glibc_needed(wheels: Path, built_on: str) -> str:
    """The oldest glibc every wheel runs on: each wheel needs the lowest glibc of its platform
    tags (it runs where any of them does), the bundle the highest of those. A wheel built here
    from a source distribution (``linux_<arch>``) needs this machine's glibc, ``built_on``."""
    needed = (0, 0)
    for wheel in wheels.glob("*.whl"):
        tags = wheel.stem.split("-")[-1].split(".")
        versions: list[tuple[int, int]] = []
        for tag in tags:
            parts = tag.split("_")
            if parts[0] in LEGACY_MANYLINUX:
                versions.append(LEGACY_MANYLINUX[parts[0]])
            elif parts[0] == "manylinux":
                versions.append((int(parts[1]), int(parts[2])))
            elif parts[0] == "linux" and built_on:
                major, minor = built_on.split(".")[:2]
                versions.append((int(major), int(minor)))
        if versions and all(t.startswith(("manylinux", "linux_")) for t in tags):
            needed = max(needed, min(versions))
    return "" if needed == (0, 0) else f"{needed[0]}.{needed[1]}"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_sums(folder: Path) -> None:
    lines = [
        f"{sha256(path)}  {path.relative_to(folder).as_posix()}"
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "SHA256SUMS"
    ]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n", encoding="utf-8")


def commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "HEAD"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "unknown"


def build(out: Path, python: str) -> Path:
    target = target_of(python)
    version = project_version()
    name = f"loandesk-{version}-{target['platform']}-py{target['version']}"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="loandesk-bundle-") as tmp:
        source, bundle = Path(tmp) / "src", Path(tmp) / name
        copy_files(tracked_files(WHEEL_SOURCES), source)
        bundle.mkdir()
        build_wheels(python, source, bundle / "wheels")
        for folder in SHARED:
            copy_files(tracked_files((folder,)), bundle / "share")
        shutil.copy2(HERE / "install.sh", bundle / "install.sh")
        shutil.copy2(HERE / "loandesk.env.example", bundle / "loandesk.env.example")
        shutil.copy2(HERE / "BUNDLE-README.md", bundle / "README.md")
        (bundle / "systemd").mkdir()
        for unit in sorted((HERE / "systemd").iterdir()):
            if unit.suffix in UNIT_SUFFIXES:
                shutil.copy2(unit, bundle / "systemd" / unit.name)
        (bundle / "BUNDLE").write_text(
            f"name={name}\nversion={version}\npython={target['version']}\n"
            f"platform={target['platform']}\n"
            f"glibc={glibc_needed(bundle / 'wheels', target['glibc'])}\ncommit={commit()}\n"
            f"built={datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}\n",
            encoding="utf-8",
        )
        os.chmod(bundle / "install.sh", 0o755)  # noqa: S103  (a program, run by root)
        write_sums(bundle)
        archive = out / f"{name}.tar.gz"
        partial = archive.with_name(archive.name + ".part")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(bundle, arcname=name, filter=_owned_by_root)
        partial.replace(archive)
    Path(f"{archive}.sha256").write_text(f"{sha256(archive)}  {archive.name}\n", encoding="utf-8")
    return archive


def _owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="folder (default dist/)")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the Python 3.11+ the wheels are built for and with (default: this one)",
    )
    args = parser.parse_args(argv)
    try:
        archive = build(args.out.resolve(), args.python)
    except BuildError as error:
        print(f"build_bundle: {error}", file=sys.stderr)
        return 1
    print(archive)
    return 0


if __name__ == "__main__":
    sys.exit(main())
