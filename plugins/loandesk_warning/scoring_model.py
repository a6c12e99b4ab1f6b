"""Scoring with a stored model in plain Python: the logistic function over standardised
features, from the JSON parameters a training run wrote (``WarningModel.parameters``). No
numpy, no scikit-learn: the daily scoring and every web worker load nothing heavy."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Parameters:
    features: tuple[str, ...]
    intercept: float
    coefficients: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]

    @classmethod
    def of(cls, features: Sequence[str], stored: Mapping[str, Any]) -> Parameters:
        return cls(
            features=tuple(features),
            intercept=float(stored["intercept"]),
            coefficients=tuple(float(c) for c in stored["coefficients"]),
            means=tuple(float(m) for m in stored["means"]),
            scales=tuple(float(s) or 1.0 for s in stored["scales"]),
        )

    def contributions(self, values: Mapping[str, float]) -> list[tuple[str, float]]:
        """Each feature's term in the log-odds (coefficient × standardised value)."""
        return [
            (name, coefficient * (float(values[name]) - mean) / scale)
            for name, coefficient, mean, scale in zip(
                self.features, self.coefficients, self.means, self.scales, strict=True
            )
        ]

    def probability(self, values: Mapping[str, float]) -> float:
        """The chance the model gives that the loan reaches the predicted arrears."""
        z = self.intercept + sum(term for _, term in self.contributions(values))
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)  # the same, without overflow for a very negative z
        return e / (1.0 + e)

    def score(self, values: Mapping[str, float]) -> int:
        """0-100: the probability in percent, rounded."""
        return round(self.probability(values) * 100)
