"""numpy and scikit-learn are installed for early warning's training, and imported only
when a model is trained: starting the app, scoring and showing pages load neither (openpyxl
would import numpy whenever it is installed, so the core imports openpyxl only where a
workbook is built or read)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
from loandesk.app import create_app
from loandesk.settings import Settings
create_app(Settings(database_url="sqlite:///{db}", instance_path="{instance}"))
import loandesk_warning.api, loandesk_warning.handlers, loandesk_warning.jobs
import loandesk_warning.scoring, loandesk_warning.views
print(sorted(m for m in ("numpy", "sklearn", "scipy", "openpyxl") if m in sys.modules))
import loandesk_warning.training
loandesk_warning.training.ks_statistic([0, 1], [0.2, 0.8])
print(sorted(m for m in ("numpy", "sklearn") if m in sys.modules))
"""


def test_the_app_starts_without_numpy_and_training_loads_it(tmp_path: Path) -> None:
    probe = PROBE.format(db=tmp_path / "probe.db", instance=tmp_path / "instance")
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split("\n")[:2] == ["[]", "['numpy', 'sklearn']"], done.stderr[-2000:]
