"""``bench/run`` runs benchmarks as processes and prints their rows as one table; the common
result format (``bench/results.py``) round-trips through JSON and decides goals. Nothing here
asserts on a timing: the numbers are whatever the machine gave."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from results import Goal, Row, read_rows, table, write_rows  # noqa: E402 (after the path)

HEADER = "benchmark | measurement | baseline | ratio | goal | met?"


def _row(ratio: float, goal: Goal | None) -> Row:
    return Row("cob", "close of business", 1234.5, "loans/s", "one UPDATE", 5000.0, ratio,
               "COB / UPDATE", goal)  # fmt: skip


def test_a_goal_is_met_or_missed_by_its_condition_and_a_row_without_one_is_neither() -> None:
    under_five = Goal("issue 11", "<", 5)
    assert _row(4.3, under_five).met is True
    assert _row(5.0, under_five).met is False
    assert _row(5.0, Goal("at most 5x", "<=", 5)).met is True
    assert _row(0.2, Goal("at least 25%", ">=", 0.25)).met is False
    assert _row(9.9, None).met is None
    with pytest.raises(ValueError, match="operator"):
        Goal("anything", "=~", 1)


def test_rows_round_trip_through_json_and_print_as_an_aligned_table(tmp_path: Path) -> None:
    rows = [_row(4.3, Goal("issue 11", "<", 5)), _row(13.4, None)]
    write_rows(str(tmp_path / "rows.json"), rows)
    assert read_rows(tmp_path / "rows.json") == rows
    lines = table(rows, failed=[("tenant_scale", "exit 1: no database")]).splitlines()
    assert " ".join(lines[0].split()) == HEADER
    assert len({line.index("|") for line in lines if "|" in line}) == 1  # columns aligned
    assert "cob: close of business | 1,234 loans/s" in " ".join(lines[2].split())
    assert lines[2].split("|")[-1].strip() == "yes" and lines[3].split("|")[-1].strip() == "-"
    assert "ratio < 5 (issue 11)" in lines[2] and "none set" in lines[3]
    assert lines[4].startswith("tenant_scale") and "CRASHED" in lines[4]
    assert lines[5] == "tenant_scale crashed: exit 1: no database"


@pytest.mark.slow
def test_bench_run_runs_one_benchmark_and_prints_the_table(tmp_path: Path) -> None:
    # risk_decisions: no database, nothing beyond the test extra (schedules needs numpy-financial)
    done = subprocess.run(
        [str(BENCH / "run"), "--only", "risk_decisions", "--quick", "--logs", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if " ".join(line.split()) == HEADER)
    row = [cell.strip() for cell in lines[at + 2].split("|")]
    assert row[0] == "risk_decisions: evaluator, 2,000 applications" and row[1].endswith(" /s")
    assert row[2].startswith("hand-written Python ") and row[3].endswith("x (Python / evaluator)")
    assert row[4:] == ["none set", "-"]
    assert "applications: 2,000 (" in (tmp_path / "risk_decisions.log").read_text()


@pytest.mark.slow
def test_a_benchmark_that_crashes_is_named_in_the_table_and_the_exit_status(
    tmp_path: Path,
) -> None:
    nowhere = "postgresql://postgres@127.0.0.1:1/postgres"  # nothing listens on port 1
    done = subprocess.run(
        [str(BENCH / "run"), "--only", "flow_actions", "--postgres", nowhere, "--logs",
         str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert any(line.startswith("flow_actions") and "CRASHED" in line for line in lines)
    assert any(line.startswith("flow_actions crashed: exit 1") for line in lines), done.stdout
