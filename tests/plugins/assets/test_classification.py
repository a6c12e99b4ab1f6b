"""Acceptance (asset preservation): close of business over a seeded portfolio (the repayment
tests' ~50 loans of five products, payments and early repayments between runs, skipped days)
gives each loan the DPD, bucket, penalty (checked by the repayment tests' ``_compare``) and the
five-tier class that a loan-by-loan reference computes, with the tenant's limits (the default
and others) and with a risk manager's overrides, which win until cleared; every loan's class
history chains to its class in force."""

from __future__ import annotations

import itertools
import random
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from tests.plugins.assets.class_reference import ClassReference
from tests.plugins.assets.conftest import admin, api
from tests.plugins.repayment.cob_reference import Reference
from tests.plugins.repayment.conftest import Desk
from tests.plugins.repayment.test_cob import DATES, _cob, _compare, _pay_some, _seed


def _classes(desk: Desk, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    from loandesk_assets import classify

    with desk.session() as session:
        return classify.class_of(session, ids)


def _check(
    desk: Desk, ids: list[uuid.UUID], reference: Reference, classes: ClassReference
) -> Counter[str]:
    days = {i: (reference.loans[i].dpd if i in reference.loans else 0) for i in ids}
    wanted = classes.expected(days)
    found = _classes(desk, ids)
    wrong = {i: (found[i], wanted[i], days[i]) for i in ids if found[i] != wanted[i]}
    assert not wrong
    return Counter(found.values())


def _status(desk: Desk, loan_id: uuid.UUID) -> str:
    return str(desk.api.get(f"/loans/{loan_id}").get_json()["status"])


def _history_chains(desk: Desk, ids: list[uuid.UUID]) -> Counter[str]:
    from loandesk_assets.models import ClassChange

    with desk.session() as session:
        rows = session.scalars(select(ClassChange).order_by(ClassChange.created_at, ClassChange.id))
        by_loan: dict[uuid.UUID, list[Any]] = {}
        for row in rows:
            by_loan.setdefault(row.loan_id, []).append(row)
    current = _classes(desk, ids)
    causes: Counter[str] = Counter()
    for loan_id in ids:
        chain = by_loan[loan_id]  # every paid-out loan has its first class
        assert chain[0].from_class is None and chain[0].to_class == "normal"
        for before, after in itertools.pairwise(chain):
            assert after.from_class == before.to_class != after.to_class
            causes[after.cause] += 1
        assert chain[-1].to_class == current[loan_id]
    return causes


@pytest.mark.parametrize("limits", [None, "0, 30, 60, 120"])
def test_classes_after_close_of_business_equal_the_loan_by_loan_reference(
    assets_desk: Desk, limits: str | None
) -> None:
    desk = assets_desk
    classes = ClassReference()
    if limits is not None:
        answer = admin(desk).put("/plugins/assets", json={"settings": {"class_dpd_limits": limits}})
        assert answer.status_code == 200, answer.get_json()
        classes = ClassReference(tuple(int(x) for x in limits.split(",")))  # type: ignore[arg-type]
    ids = [uuid.UUID(i) for i in _seed(desk)]
    reference = Reference()
    rng = random.Random(11)
    risk = api(desk, "chief")
    seen: Counter[str] = Counter()
    for step, day in enumerate(DATES):
        run = _cob(desk, day, chunk_size=7)
        assert run.state == "done"
        with desk.session() as session:
            reference.run(session, day)
        _compare(desk, reference)  # DPD, bucket, overdue amounts, penalty
        seen += _check(desk, ids, reference, classes)
        if step == 3:  # a risk manager overrides two active loans' classes
            chosen = [i for i in ids if _status(desk, i) == "active"][:2]
            for loan_id, loan_class in zip(chosen, ("loss", "special_mention"), strict=True):
                answer = risk.put(
                    f"/assets/loans/{loan_id}/class/override",
                    json={"loan_class": loan_class, "reason": "借款人涉诉，人工调整"},
                )
                assert answer.status_code == 200, answer.get_json()
                assert answer.get_json()["loan_class"] == loan_class
                classes.overrides[loan_id] = loan_class
            seen += _check(desk, ids, reference, classes)
        if step == 6:  # one override cleared: its class follows the days past due again
            cleared = next(iter(classes.overrides))
            answer = risk.post(
                f"/assets/loans/{cleared}/class/override/clear", json={"reason": "已和解"}
            )
            assert answer.status_code == 200, answer.get_json()
            del classes.overrides[cleared]
            seen += _check(desk, ids, reference, classes)
        _pay_some(desk, [str(i) for i in ids], day, rng, reference)
        seen += _check(desk, ids, reference, classes)
    expected = {"normal", "special_mention", "substandard", "doubtful"}
    if limits is not None:
        expected.add("loss")
    assert expected <= {name for name, count in seen.items() if count}
    causes = _history_chains(desk, ids)
    assert causes["dpd"] > 20 and causes["override"] >= 1
