"""Pushing vouchers to Kingdee Cloud 星空 (a local WebAPI that checks every request): each
voucher saved as ``GL_VOUCHER`` with its lines exactly; a voucher Kingdee refuses keeps the
refusal and is retried from its page; a lost session signs in again; a timeout fails the job
attempt (the job system retries with backoff) and the next attempt pushes."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from tests.plugins.vouchers.conftest import BOOK, DAY, GROUP, Seeded
from tests.plugins.vouchers.kingdee_server import FakeKingdee


def _ready(seeded: Seeded, kingdee: FakeKingdee) -> list[dict]:
    seeded.settings(kingdee.url)
    seeded.map_all()
    assert seeded.generate().status_code == 200
    return sorted(seeded.vouchers(), key=lambda v: v["number"])


def _ids(vouchers: list[dict]) -> list[str]:
    return [v["id"] for v in vouchers]


def test_vouchers_are_saved_in_kingdee_as_documented(seeded: Seeded, kingdee: FakeKingdee) -> None:
    vouchers = _ready(seeded, kingdee)
    queued = seeded.finance.post("/vouchers/push", json={"day": DAY.isoformat()})
    assert queued.status_code == 202 and queued.get_json()["vouchers"] == 4
    assert queued.get_json()["job_id"]
    seeded.run_push(*_ids(vouchers))
    assert kingdee.problems == [] and kingdee.refused == []
    assert kingdee.logins == 1  # one sign-in for the whole job
    assert len(kingdee.saved) == 4
    for voucher, model in zip(vouchers, kingdee.saved, strict=True):
        assert model["FAccountBookID"] == {"FNumber": BOOK}
        assert model["FVOUCHERGROUPID"] == {"FNumber": GROUP}
        assert model["FDate"] == "2025-03-20"
        assert model["FVOUCHERGROUPNO"] == str(voucher["number"])
        expected = []
        for line in voucher["lines"]:
            entry = {
                "FEXPLANATION": line["summary"],
                "FACCOUNTID": {"FNumber": line["subject_code"]},
                "FDEBIT": line["debit"],
                "FCREDIT": line["credit"],
            }
            if line["aux"] == "customer":
                entry["FDetailID"] = {"FFLEX6": {"FNumber": line["aux_code"]}}
            elif line["aux"] == "product":
                entry["FDetailID"] = {"FFLEX8": {"FNumber": line["aux_code"]}}
            expected.append(entry)
        assert model["FEntity"] == expected
    after = sorted(seeded.vouchers(), key=lambda v: v["number"])
    assert [v["state"] for v in after] == ["pushed"] * 4
    assert [v["external_number"] for v in after] == ["JZ0001", "JZ0002", "JZ0003", "JZ0004"]
    assert all(v["error"] is None and v["push_attempts"] == 1 for v in after)
    # pushed ones are not sent again
    again = seeded.finance.post("/vouchers/push", json={"day": DAY.isoformat()})
    assert again.get_json() == {"job_id": None, "vouchers": 0}
    seeded.run_push(*_ids(vouchers))
    assert len(kingdee.saved) == 4
    assert seeded.finance.post(f"/vouchers/{vouchers[0]['id']}/retry").status_code == 409


def test_a_refused_voucher_keeps_kingdees_errors_and_can_be_retried(
    seeded: Seeded, kingdee: FakeKingdee
) -> None:
    vouchers = _ready(seeded, kingdee)
    kingdee.accounts.discard("1304.01")  # the write-off account is not in Kingdee's chart
    seeded.run_push(*_ids(vouchers))
    states = {v["kind"]: v for v in seeded.vouchers()}
    failed = states["write_off"]
    assert failed["state"] == "push_failed"
    assert "FACCOUNTID" in failed["error"] and "科目1304.01不存在" in failed["error"]
    assert {k: v["state"] for k, v in states.items() if k != "write_off"} == {
        "disbursement": "pushed",
        "repayment": "pushed",
        "penalty": "pushed",
    }
    kingdee.accounts.add("1304.01")  # the firm adds the account in Kingdee
    retried = seeded.finance.post(f"/vouchers/{failed['id']}/retry")
    assert retried.status_code == 202 and retried.get_json()["vouchers"] == 1
    seeded.run_push(failed["id"])
    again = {v["kind"]: v for v in seeded.vouchers()}["write_off"]
    assert (again["state"], again["error"], again["push_attempts"]) == ("pushed", None, 2)
    assert len(kingdee.saved) == 4


def test_a_lost_session_signs_in_again(seeded: Seeded, kingdee: FakeKingdee) -> None:
    vouchers = _ready(seeded, kingdee)
    kingdee.scripts = ["", "expire"]  # the second save finds the session gone
    seeded.run_push(*_ids(vouchers))
    assert kingdee.logins == 2 and kingdee.problems == []
    assert [v["state"] for v in seeded.vouchers()] == ["pushed"] * 4


def test_a_timeout_fails_the_attempt_and_the_job_system_retries(
    seeded: Seeded, kingdee: FakeKingdee
) -> None:
    from loandesk_vouchers.kingdee import KingdeeUnavailable

    spec = seeded.desk.app.extensions["loandesk.jobs"].specs["vouchers.push"]
    assert (spec.max_attempts, spec.backoff) == (4, (30, 120, 600))
    assert spec.delay_before(2) == 30 and spec.delay_before(4) == 600
    vouchers = _ready(seeded, kingdee)
    kingdee.delay = 2.5  # the client waits 1 second
    kingdee.scripts = ["slow"]
    with pytest.raises(KingdeeUnavailable):
        seeded.run_push(*_ids(vouchers), attempt=1)
    first = sorted(seeded.vouchers(), key=lambda v: v["number"])[0]
    assert first["state"] == "push_failed" and first["error"] == "Kingdee did not answer in time"
    for _ in range(100):  # the slow save lands after the client gave up (before the backoff)
        if kingdee.saved:
            break
        time.sleep(0.05)
    [(_, landed_number)] = kingdee.keys
    kingdee.scripts = ["error500"]  # the next save: the second voucher's
    with pytest.raises(KingdeeUnavailable):
        seeded.run_push(*_ids(vouchers), attempt=2)
    seeded.run_push(*_ids(vouchers), attempt=3)
    after = sorted(seeded.vouchers(), key=lambda v: v["number"])
    assert [v["state"] for v in after] == ["pushed"] * 4
    assert after[0]["push_attempts"] == 2 and after[0]["error"] is None
    assert after[1]["push_attempts"] == 2  # failed once on HTTP 500, then saved
    # the first one is the save that landed, found by its number: one voucher each in Kingdee
    assert after[0]["external_number"] == landed_number
    assert len(kingdee.saved) == 4 and kingdee.queries == 2 and kingdee.problems == []
    assert sorted(m["FVOUCHERGROUPNO"] for m in kingdee.saved) == sorted(
        str(v["number"]) for v in after
    )
    assert all(
        sum(Decimal(e["FDEBIT"]) for e in m["FEntity"])
        == sum(Decimal(e["FCREDIT"]) for e in m["FEntity"])
        for m in kingdee.saved
    )


def test_a_lookup_kingdee_cannot_answer_saves_nothing(seeded: Seeded, kingdee: FakeKingdee) -> None:
    """Not knowing whether Kingdee holds a voucher tried before, LoanDesk does not save it."""
    from loandesk_vouchers.kingdee import KingdeeUnavailable

    vouchers = _ready(seeded, kingdee)
    kingdee.scripts = ["error500"]
    with pytest.raises(KingdeeUnavailable):
        seeded.run_push(vouchers[0]["id"], attempt=1)
    kingdee.query_fails = True
    with pytest.raises(KingdeeUnavailable):
        seeded.run_push(vouchers[0]["id"], attempt=2)
    [first] = [v for v in seeded.vouchers() if v["id"] == vouchers[0]["id"]]
    assert first["state"] == "push_failed" and kingdee.saved == [] and kingdee.queries == 1
    assert first["error"] == "Kingdee could not say whether it already holds the voucher"


def test_the_last_attempt_keeps_the_error_without_failing_the_job(
    seeded: Seeded, kingdee: FakeKingdee
) -> None:
    vouchers = _ready(seeded, kingdee)
    kingdee.scripts = ["error500"]
    seeded.run_push(*_ids(vouchers), attempt=4)  # no exception: nothing more to retry
    first = sorted(seeded.vouchers(), key=lambda v: v["number"])[0]
    assert (first["state"], first["error"]) == ("push_failed", "Kingdee answered HTTP 500")


def test_kingdee_not_set_up_marks_the_vouchers(seeded: Seeded) -> None:
    seeded.map_all()
    assert seeded.generate().status_code == 200
    vouchers = seeded.vouchers()
    seeded.run_push(*_ids(vouchers))
    assert {v["state"] for v in seeded.vouchers()} == {"push_failed"}
    assert "kingdee_base_url" in seeded.vouchers()[0]["error"]
