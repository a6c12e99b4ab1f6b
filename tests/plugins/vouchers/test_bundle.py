"""``vouchers.yaml`` in tenant bundles: the mapping exports by kind and account, matches the
bundle's JSON Schema, applies a changed code through the service (audited) and a second apply
changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.platform.test_bundle import audit_count, run
from tests.plugins.vouchers.conftest import CHART, Seeded

ROOT = Path(__file__).resolve().parents[3]


def test_the_mapping_travels_in_the_bundle(seeded: Seeded, tmp_path: Path) -> None:
    from loandesk_vouchers.bundle import JSON_SCHEMA

    app, slug = seeded.desk.app, seeded.desk.firm.tenant.slug
    seeded.map_all()
    assert run(app, "tenant", "export", slug, str(tmp_path)).exit_code == 0
    data = yaml.safe_load((tmp_path / "vouchers.yaml").read_text(encoding="utf-8"))
    assert {(m["kind"], m["account"], m["subject_code"]) for m in data["mappings"]} == {
        ("*", account, code) for account, (code, _, _) in CHART.items()
    }
    schema = json.loads((ROOT / "tenants" / "bundle.schema.json").read_text(encoding="utf-8"))
    assert schema["$defs"]["vouchers"] == JSON_SCHEMA
    bundle = {
        str(p.relative_to(tmp_path)): yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in tmp_path.rglob("*.yaml")
    }
    jsonschema.validate(bundle, schema)
    bundle["vouchers.yaml"]["mappings"][0]["aux"] = "branch"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bundle, schema)

    cash = next(m for m in data["mappings"] if m["account"] == "cash")
    cash["subject_code"] = "1002.09"
    data["mappings"].append(
        {
            "kind": "repayment",
            "account": "cash",
            "subject_code": "1002.03",
            "subject_name": "银行存款-还款专户",
            "aux": "none",
        }
    )
    (tmp_path / "vouchers.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True), encoding="utf-8"
    )
    applied = run(app, "tenant", "apply", str(tmp_path), "--tenant", slug)
    assert applied.exit_code == 0, applied.output
    listed = seeded.finance.get("/vouchers/mappings?per_page=100").get_json()["items"]
    codes = {(m["kind"], m["account"]): m["subject_code"] for m in listed}
    assert codes[("*", "cash")] == "1002.09" and codes[("repayment", "cash")] == "1002.03"
    assert len(listed) == len(CHART) + 1
    before = audit_count(app, slug)
    again = run(app, "tenant", "apply", str(tmp_path), "--tenant", slug)
    assert again.exit_code == 0, again.output
    assert audit_count(app, slug) == before


def test_a_kind_and_account_twice_is_refused(seeded: Seeded, tmp_path: Path) -> None:
    app, slug = seeded.desk.app, seeded.desk.firm.tenant.slug
    seeded.map_all()
    assert run(app, "tenant", "export", slug, str(tmp_path)).exit_code == 0
    data = yaml.safe_load((tmp_path / "vouchers.yaml").read_text(encoding="utf-8"))
    data["mappings"].append(dict(data["mappings"][0], subject_code="9999"))
    (tmp_path / "vouchers.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True), encoding="utf-8"
    )
    refused = run(app, "tenant", "apply", str(tmp_path), "--tenant", slug)
    assert refused.exit_code != 0
    assert f"vouchers.yaml: mappings[{len(CHART)}]:" in refused.output
    assert "is mapped twice" in refused.output
