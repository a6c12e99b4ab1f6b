"""Training the tenant's model on its own repayment history: one row per loan and cut-off
(the features as of that day, ``features.features``; the label whether it then reached the
predicted arrears, ``features.label``), a stratified held-out split with a fixed seed,
logistic regression (scikit-learn) on standardised features, and its evaluation — AUC and KS
of the stored parameters' own scores on the held-out rows. Stored as JSON in a new version;
the version before is retired. numpy and scikit-learn are imported here only, when a model
is trained."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_warning import features as feats
from loandesk_warning.models import Signal, WarningModel
from loandesk_warning.scoring_model import Parameters

SEED = 20260101
TEST_SHARE = 0.3
SNAPSHOTS = 3  # cut-offs per loan, a month apart
CHUNK = 500
PLACES = Decimal("0.000001")  # AUC and KS as stored and shown


@dataclass(frozen=True)
class Dataset:
    rows: list[list[float]]
    labels: list[int]


def cutoffs(as_of: dt.date, label_days: int) -> list[dt.date]:
    """The cut-offs whose outcome window has fully passed by ``as_of``, newest first."""
    last = as_of - dt.timedelta(days=label_days)
    return [last - dt.timedelta(days=30 * k) for k in range(SNAPSHOTS)]


def signals_of(session: Session, loan_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    found: dict[uuid.UUID, list[Any]] = defaultdict(list)
    if loan_ids:
        for loan_id, kind, occurred_on in session.execute(
            select(Signal.loan_id, Signal.kind, Signal.occurred_on).where(
                Signal.loan_id.in_(list(loan_ids))
            )
        ):
            found[loan_id].append(feats.SignalDate(kind, occurred_on))
    return found


def dataset(
    histories: Iterable[sdk.LoanHistory],
    as_of: dt.date,
    *,
    label_dpd: int,
    label_days: int,
    signals: dict[uuid.UUID, list[Any]] | None = None,
) -> Dataset:
    """The training rows of ``histories``: features in ``features.NAMES`` order, labels 0/1."""
    rows: list[list[float]] = []
    labels: list[int] = []
    for history in histories:
        known = (signals or {}).get(history.loan.id, [])
        for cutoff in cutoffs(as_of, label_days):
            if not feats.trainable(history, cutoff, label_dpd=label_dpd):
                continue
            values = feats.features(history, cutoff, known)
            rows.append([values[name] for name in feats.NAMES])
            labels.append(
                int(feats.label(history, cutoff, label_dpd=label_dpd, label_days=label_days))
            )
    return Dataset(rows, labels)


def book_histories(session: Session) -> Iterable[sdk.LoanHistory]:
    """Every active and settled loan of the tenant, a chunk at a time."""
    book = sdk.loan_book()
    after = None
    while True:
        chunk = book.histories(session, statuses=("active", "settled"), after=after, limit=CHUNK)
        yield from chunk
        if len(chunk) < CHUNK:
            return
        after = chunk[-1].loan.id


def ks_statistic(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Kolmogorov-Smirnov: the largest gap between the positives' and the negatives'
    cumulative score distributions (max of TPR - FPR over thresholds)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(list(labels), list(scores))
    return float(max(tpr - fpr))


def fit(data: Dataset, *, seed: int = SEED) -> tuple[dict[str, Any], int, float, float]:
    """Fit on the training part; the parameters, the held-out size, its AUC and KS."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(data.rows, dtype=float)
    y = np.asarray(data.labels, dtype=int)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_SHARE, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(x_train)
    model = LogisticRegression(max_iter=1000).fit(scaler.transform(x_train), y_train)
    parameters = {
        "intercept": float(model.intercept_[0]),
        "coefficients": [float(c) for c in model.coef_[0]],
        "means": [float(m) for m in scaler.mean_],
        "scales": [float(s) for s in scaler.scale_],
    }
    # evaluate what the daily scoring will compute: the stored parameters in plain Python
    scorer = Parameters.of(feats.NAMES, parameters)
    scores = [
        scorer.probability(dict(zip(feats.NAMES, row, strict=True))) for row in x_test.tolist()
    ]
    auc = float(roc_auc_score(y_test, scores))
    return parameters, len(y_test), auc, ks_statistic(y_test.tolist(), scores)


def train(
    session: Session,
    *,
    as_of: dt.date,
    user_id: uuid.UUID | None = None,
    histories: Iterable[sdk.LoanHistory] | None = None,
    settings: dict[str, Any],
) -> WarningModel:
    """Train a new version on ``histories`` (the tenant's whole book when None), store it
    active and retire the one before, audited, with the event ``warning.model_trained``.
    ``Conflict`` when the history is too thin to learn from."""
    label_dpd, label_days = settings["label_dpd"], settings["label_days"]
    loans = list(histories if histories is not None else book_histories(session))
    signals = signals_of(session, [h.loan.id for h in loans])
    data = dataset(loans, as_of, label_dpd=label_dpd, label_days=label_days, signals=signals)
    positives = sum(data.labels)
    negatives = len(data.labels) - positives
    if (
        len(data.rows) < settings["min_training_rows"]
        or positives < settings["min_positives"]
        or negatives < settings["min_positives"]
    ):
        raise sdk.Conflict(
            sdk.N_(
                "Not enough repayment history to train on: %(rows)s rows, %(positives)s of "
                "them reached %(dpd)s days past due. At least %(need_rows)s rows and "
                "%(need_positives)s of each outcome are needed."
            ),
            params={
                "rows": len(data.rows), "positives": positives, "dpd": label_dpd,
                "need_rows": settings["min_training_rows"],
                "need_positives": settings["min_positives"],
            },
        )  # fmt: skip
    parameters, test_rows, auc, ks = fit(data)
    previous = session.scalar(select(WarningModel).where(WarningModel.state == "active"))
    if previous is not None:
        previous.state, previous.retired_at = "retired", sdk.utcnow()
        session.flush()  # one active version at a time (a unique index)
    version = (session.scalar(select(func.max(WarningModel.version))) or 0) + 1
    model = WarningModel(
        version=version,
        state="active",
        trained_by_id=user_id,
        as_of=as_of,
        label_dpd=label_dpd,
        label_days=label_days,
        rows=len(data.rows),
        positives=positives,
        test_rows=test_rows,
        seed=SEED,
        auc=Decimal(auc).quantize(PLACES),
        ks=Decimal(ks).quantize(PLACES),
        features=list(feats.NAMES),
        parameters=parameters,
    )
    session.add(model)
    session.flush()
    summary = {
        "version": version, "rows": len(data.rows), "positives": positives,
        "auc": str(model.auc), "ks": str(model.ks),
        "retired": previous.version if previous is not None else None,
    }  # fmt: skip
    sdk.audit_record(session, "warning.model_trained", "warning_model", model.id, summary)
    sdk.emit(session, "warning.model_trained", "warning_model", model.id, summary)
    return model


def active_model(session: Session) -> WarningModel | None:
    return session.scalar(select(WarningModel).where(WarningModel.state == "active"))
