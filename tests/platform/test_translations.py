"""The Chinese catalog covers every message of the code and templates, and the compiled .mo
is the .po's: a new English text without its Chinese fails here, not in front of staff."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "platform/loandesk/translations/zh_Hans_CN/LC_MESSAGES"


def _ids(catalog) -> set[object]:  # type: ignore[no-untyped-def]
    return {m.id for m in catalog if m.id}


def test_every_message_of_the_code_is_in_the_catalog(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "N_",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        extracted = _ids(read_po(f))
    with (CATALOG / "messages.po").open("rb") as f:
        po = read_po(f)
    missing = extracted - _ids(po)
    assert not missing, (
        f"not in messages.po (see docs/translations.md): {sorted(map(str, missing))[:5]}"
    )
    untranslated = [m.id for m in po if m.id and (not m.string or m.fuzzy)]
    assert not untranslated, f"untranslated or fuzzy: {untranslated[:5]}"


def _plain(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value


def test_the_compiled_catalog_matches_its_source() -> None:
    with (CATALOG / "messages.po").open("rb") as f:
        po = {_plain(m.id): _plain(m.string) for m in read_po(f) if m.id}
    with (CATALOG / "messages.mo").open("rb") as f:
        mo = {_plain(m.id): _plain(m.string) for m in read_mo(f) if m.id}
    assert po == mo, "run: .venv/bin/pybabel compile -d platform/loandesk/translations"
