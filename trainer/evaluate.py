"""Evaluation on held-out images: accuracy, loss, per-class metrics, the confusion matrix."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import keras
import numpy as np
from scipy.stats import binomtest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
)

from trainer.data import CLASS_NAMES

PREDICT_BATCH_SIZE = 1000  # 10,000 images: one batch shape, one compiled program


@dataclass(frozen=True)
class ClassMetrics:
    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    """Metrics of a model on one labelled set; ``confusion_matrix[true][predicted]``."""

    accuracy: float
    loss: float
    per_class: tuple[ClassMetrics, ...]
    confusion_matrix: tuple[tuple[int, ...], ...]

    @property
    def count(self) -> int:
        return sum(sum(row) for row in self.confusion_matrix)

    def accuracy_interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """The Wilson interval of the accuracy, a binomial proportion over ``count`` images."""
        correct = sum(row[i] for i, row in enumerate(self.confusion_matrix))
        interval = binomtest(correct, self.count).proportion_ci(confidence, method="wilson")
        return float(interval.low), float(interval.high)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "images": self.count, "accuracy_95": self.accuracy_interval()}

    def table(self) -> str:
        """The per-class table, one line a class, as logged and written to the closing notes."""
        lines = [f"{'class':<12} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}"]
        lines += [
            f"{c.name:<12} {c.precision:>9.4f} {c.recall:>7.4f} {c.f1:>7.4f} {c.support:>8d}"
            for c in self.per_class
        ]
        return "\n".join(lines)


def evaluate(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> Evaluation:
    """Evaluates ``model`` on raw ``uint8`` images with scikit-learn's metrics."""
    probabilities = np.asarray(model.predict(images, batch_size=PREDICT_BATCH_SIZE, verbose=0))
    return evaluate_probabilities(probabilities, labels)


def evaluate_probabilities(probabilities: np.ndarray, labels: np.ndarray) -> Evaluation:
    classes = list(range(len(CLASS_NAMES)))
    predicted = probabilities.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=classes, zero_division=0
    )
    per_class = tuple(
        ClassMetrics(name, float(p), float(r), float(f), int(s))
        for name, p, r, f, s in zip(CLASS_NAMES, precision, recall, f1, support, strict=True)
    )
    matrix = confusion_matrix(labels, predicted, labels=classes)
    return Evaluation(
        accuracy=float(accuracy_score(labels, predicted)),
        loss=float(log_loss(labels, probabilities, labels=classes)),
        per_class=per_class,
        confusion_matrix=tuple(tuple(int(v) for v in row) for row in matrix),
    )
