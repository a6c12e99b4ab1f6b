"""Training on a tenant's own history: a seeded book where the outcome depends on how the
borrowers paid before the cut-off gives a model far better than chance; the stored AUC and
KS are what a direct recomputation on the same held-out split gives; retraining makes a new
version and retires the one before; features never read what happened after the cut-off."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import uuid
from decimal import Decimal
from typing import Any

from loandesk import sdk
from tests.plugins.customers.conftest import audit_events
from tests.plugins.warning.conftest import Warn, history

AS_OF = dt.date(2026, 6, 30)
AMOUNT = Decimal("1000.00")


def seeded_book(
    template: sdk.LoanSummary, count: int = 300, seed: int = 7, as_of: dt.date = AS_OF
) -> list[Any]:
    """Loans paid out 200-360 days before ``as_of``. Three in ten borrowers are risky: they
    pay each installment 5-20 days late, and most stop paying some month; the others pay on
    the due date, and a few stop all the same (noise)."""
    rng = random.Random(seed)
    loans = []
    for _ in range(count):
        disbursed = as_of - dt.timedelta(days=rng.randint(200, 360))
        risky = rng.random() < 0.3
        late = rng.randint(5, 20) if risky else 0
        stops = (risky and rng.random() < 0.8) or (not risky and rng.random() < 0.05)
        stop_at = rng.randint(3, 11) if stops else 99
        payments = []
        for number in range(1, 13):
            paid_on = disbursed + dt.timedelta(days=30 * number + late)
            if number >= stop_at or paid_on > as_of:
                break
            payments.append((paid_on, AMOUNT))
        loans.append(history(template, disbursed, payments, amount=AMOUNT))
    return loans


def _template(warn: Warn) -> sdk.LoanSummary:
    loan_id = warn.book(100)
    with warn.session() as session:
        found = sdk.loan_book().get(session, uuid.UUID(loan_id))
    assert found is not None
    return found


def _train(warn: Warn, histories: list[Any], **changes: Any) -> Any:
    from loandesk_warning import settings, training

    with warn.session() as session:
        values = {**settings.current(), **changes}
        model = training.train(session, as_of=AS_OF, histories=histories, settings=values)
        session.expunge(model)
    return model


def _ks(labels: list[int], scores: list[float]) -> float:
    """The largest gap between the two classes' cumulative score distributions."""
    positives = sorted(s for s, y in zip(scores, labels, strict=True) if y)
    negatives = sorted(s for s, y in zip(scores, labels, strict=True) if not y)
    gap = 0.0
    for threshold in sorted(set(scores)):
        below_pos = sum(s <= threshold for s in positives) / len(positives)
        below_neg = sum(s <= threshold for s in negatives) / len(negatives)
        gap = max(gap, abs(below_neg - below_pos))
    return gap


def test_a_model_trained_on_the_seeded_book_beats_chance_and_its_evaluation_is_true(
    warn: Warn,
) -> None:
    import numpy as np
    from loandesk_warning import training
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    book = seeded_book(_template(warn))
    model = _train(warn, book)
    assert (model.version, model.state, model.algorithm) == (1, "active", "logistic_regression")
    assert model.rows > 300 and 0 < model.positives < model.rows
    assert model.auc > Decimal("0.75") and model.ks > Decimal("0.4")

    # the same rows, the same stratified split, the stored JSON parameters: scored here
    data = training.dataset(book, AS_OF, label_dpd=30, label_days=90)
    assert (len(data.rows), sum(data.labels)) == (model.rows, model.positives)
    x, y = np.asarray(data.rows), np.asarray(data.labels)
    _, x_test, _, y_test = train_test_split(
        x, y, test_size=0.3, stratify=y, random_state=model.seed
    )
    assert len(y_test) == model.test_rows
    p = model.parameters
    z = p["intercept"] + ((x_test - np.asarray(p["means"])) / np.asarray(p["scales"])) @ (
        np.asarray(p["coefficients"])
    )
    scores = (1 / (1 + np.exp(-z))).tolist()
    assert abs(float(model.auc) - roc_auc_score(y_test, scores)) < 1e-6
    assert abs(float(model.ks) - _ks(y_test.tolist(), scores)) < 1e-6
    # lateness before the cut-off is what predicts the arrears after it
    weights = dict(zip(model.features, p["coefficients"], strict=True))
    assert weights["max_days_past_due"] > 0 or weights["late_installments"] > 0


def test_retraining_makes_a_new_version_and_retires_the_old(warn: Warn) -> None:
    template = _template(warn)
    first = _train(warn, seeded_book(template, seed=7))
    second = _train(warn, seeded_book(template, seed=8))
    assert (first.version, second.version) == (1, 2)

    models = warn.api("risk").get("/warning/models").get_json()
    assert [(m["version"], m["state"]) for m in models["items"]] == [(2, "active"), (1, "retired")]
    assert models["items"][1]["retired_at"] is not None
    active = warn.api("risk").get("/warning/models/active").get_json()
    assert (active["version"], active["auc"]) == (2, str(second.auc))
    assert {f["name"] for f in active["features"]} == set(second.features)
    trained = audit_events(warn.app, warn.desk.firm, "warning.model_trained")
    assert [a.diff["version"] for a in trained] == [1, 2] and trained[1].diff["retired"] == 1
    assert len(warn.events("warning.model_trained")) == 2


def test_too_little_history_is_refused_with_the_numbers(warn: Warn) -> None:
    warn.book(400)
    answer = warn.api("risk").post("/warning/models")
    assert answer.status_code == 409
    body = answer.get_json()
    assert body["code"] == "conflict" and "Not enough repayment history" in body["message"]
    assert warn.api("risk").get("/warning/models").get_json()["total"] == 0
    assert warn.api("risk").get("/warning/models/active").status_code == 404


def test_features_read_nothing_after_the_cut_off(warn: Warn) -> None:
    from loandesk_warning import features

    template = _template(warn)
    disbursed = dt.date(2025, 1, 1)
    cutoff = dt.date(2025, 5, 15)
    before = [(disbursed + dt.timedelta(days=30 * n + 3), AMOUNT) for n in range(1, 4)]
    stopped = history(template, disbursed, before)
    # the same loan, paid on after the cut-off (even in full): a different future
    paid_on = dataclasses.replace(
        stopped,
        payments=stopped.payments
        + history(template, disbursed, [(dt.date(2025, 5, 20), Decimal("9000.00"))]).payments,
    )
    signals = [features.SignalDate("contact_change", dt.date(2025, 5, 1))]
    later = [*signals, features.SignalDate("promise_broken", dt.date(2025, 5, 16))]
    assert features.features(stopped, cutoff, signals) == features.features(paid_on, cutoff, later)
    assert features.features(stopped, cutoff, signals)["contact_changes_90d"] == 1
    assert features.features(stopped, cutoff, later)["promises_broken_90d"] == 0
    # while the label, which is about the future, tells them apart
    assert features.label(stopped, cutoff, label_dpd=30, label_days=90)
    assert not features.label(paid_on, cutoff, label_dpd=30, label_days=90)
    # and the features move with the cut-off: at the next due date the arrears show
    assert features.features(stopped, dt.date(2025, 6, 30), signals)["days_past_due"] > 0
