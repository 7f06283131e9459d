"""Multi-label metrics and per-label threshold tuning (scikit-learn definitions)."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Element-wise logistic function in float64."""
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))


def multilabel_metrics(labels: np.ndarray, probabilities: np.ndarray, thresholds: np.ndarray) -> dict[str, float]:
    """Metrics of multi-hot ``labels`` ``[n, k]`` against probabilities cut at ``thresholds`` ``[k]``.

    ``micro_f1`` / ``macro_f1``: F1 over all (example, label) pairs / averaged over labels.
    ``roc_auc``: micro-averaged, threshold-free (NaN when only one class occurs at all).
    ``subset_accuracy``: share of examples whose whole label set is right.
    ``jaccard``: per-example |true & predicted| / |true | predicted|, averaged; an example
    with no true and no predicted label scores 1.
    """
    from sklearn.metrics import accuracy_score, f1_score, jaccard_score, roc_auc_score

    y = labels.astype(np.int32)
    predicted = (probabilities >= thresholds).astype(np.int32)
    flat = y.ravel()
    auc = float(roc_auc_score(flat, probabilities.ravel())) if 0 < flat.sum() < flat.size else float("nan")
    return {
        "micro_f1": float(f1_score(y, predicted, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(y, predicted, average="macro", zero_division=0)),
        "roc_auc": auc,
        "subset_accuracy": float(accuracy_score(y, predicted)),
        "jaccard": float(jaccard_score(y, predicted, average="samples", zero_division=1)),
    }


def per_label_report(labels: np.ndarray, probabilities: np.ndarray, thresholds: np.ndarray,
                     names: Sequence[str]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1, support and threshold for each label."""
    from sklearn.metrics import precision_recall_fscore_support

    predicted = (probabilities >= thresholds).astype(np.int32)
    p, r, f, s = precision_recall_fscore_support(labels.astype(np.int32), predicted, average=None,
                                                 zero_division=0)
    return {name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i]),
                   "threshold": float(thresholds[i])} for i, name in enumerate(names)}


def tune_thresholds(labels: np.ndarray, probabilities: np.ndarray, default: float = 0.5) -> np.ndarray:
    """Per label, the threshold maximising that label's F1 on these examples.

    Candidates are the midpoints between consecutive distinct probabilities plus
    ``default``; a tie keeps the candidate closest to ``default``, so the tuned F1 of
    every label is never below its F1 at ``default``.
    """
    k = labels.shape[1]
    chosen = np.full(k, default, dtype=np.float64)
    for j in range(k):
        y, p = labels[:, j].astype(bool), probabilities[:, j]
        values = np.unique(p)
        candidates = np.concatenate([[default], (values[:-1] + values[1:]) / 2]) if len(values) > 1 else np.array([default])
        scores = np.array([_f1(y, p >= t) for t in candidates])
        best = scores.max()
        ties = candidates[scores >= best - 1e-12]
        chosen[j] = ties[np.argmin(np.abs(ties - default))]
    return chosen


def _f1(y: np.ndarray, predicted: np.ndarray) -> float:
    tp = float(np.sum(y & predicted))
    denominator = float(y.sum() + predicted.sum())
    return 2 * tp / denominator if denominator else 1.0
