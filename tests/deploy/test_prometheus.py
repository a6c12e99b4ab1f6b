"""The Prometheus alerting rules (deploy/prometheus): valid for Prometheus (``promtool check
rules``), firing when they should and not otherwise (``promtool test rules`` on the unit tests
beside them), and written against metrics LoanDesk really exports."""

from __future__ import annotations

import importlib
import pkgutil
import re
import shutil
import subprocess
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

import loandesk.observability.metrics  # noqa: F401  (registers the core's metrics)

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "loandesk-alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "loandesk-alerts.test.yml"
METRIC = re.compile(r"\b(loandesk_[a-z0-9_]+)")
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool (Debian: prometheus) is not installed; .ci/run installs it"
)


def exported_samples() -> set[str]:
    """Every sample name the core's metrics can produce (histograms: _bucket, _count, _sum;
    counters: _total), queue depth included (collected at scrape time), the plugins' metrics
    (the close of business's is the repayment plugin's) included."""
    for plugin in entry_points(group="loandesk.plugins"):
        for module in pkgutil.walk_packages(plugin.load().__path__, plugin.value + "."):
            if ".migrations" not in module.name and ".tests" not in module.name:
                importlib.import_module(module.name)
    names = {"loandesk_queue_depth"}
    suffixes = ("", "_total", "_bucket", "_count", "_sum")
    for collector in list(REGISTRY._collector_to_names):  # the registry has no public listing
        for family in collector.describe() if hasattr(collector, "describe") else []:
            names |= {family.name + suffix for suffix in suffixes}
    return {n for n in names if n.startswith("loandesk_")}


def test_the_rules_use_only_metrics_loandesk_exports() -> None:
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    used = {
        name
        for group in rules["groups"]
        for rule in group["rules"]
        for name in METRIC.findall(rule["expr"])
    }
    assert used, "no LoanDesk metric in the rules"
    assert used <= exported_samples(), used - exported_samples()
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_the_check_of_metric_names_catches_a_misspelt_one() -> None:
    assert "loandesk_http_requests_total" in exported_samples()
    assert "loandesk_http_request_total" not in exported_samples()


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run(
        [str(PROMTOOL), "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout


@needs_promtool
def test_the_alerts_fire_when_they_should_and_only_then() -> None:
    result = subprocess.run(
        [str(PROMTOOL), "test", "rules", RULE_TESTS.name],
        cwd=RULE_TESTS.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]
        for case in test["alert_rule_test"]
    }
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
    }
    assert tested == alerts  # every alert has a unit test


@needs_promtool
def test_a_broken_rule_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        RULES.read_text(encoding="utf-8").replace("> 0.05", "> > 0.05"), encoding="utf-8"
    )
    result = subprocess.run(
        [str(PROMTOOL), "check", "rules", str(broken)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
