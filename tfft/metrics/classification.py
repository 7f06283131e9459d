"""Single-label classification metrics over a whole split."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (stable for large logits)."""
    z = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def classification_metrics(labels: np.ndarray, logits: np.ndarray) -> dict[str, float]:
    """``accuracy`` and ``f1``: F1 of class 1 for two classes, macro-F1 over classes otherwise.

    Example:
        >>> classification_metrics(np.array([0, 1]), np.array([[2.0, 0.0], [0.0, 1.0]]))
        {'accuracy': 1.0, 'f1': 1.0}
    """
    from sklearn.metrics import accuracy_score, f1_score

    predicted = logits.argmax(axis=-1)
    num_classes = logits.shape[-1]
    average = "binary" if num_classes == 2 else "macro"
    f1 = f1_score(labels, predicted, average=average, labels=list(range(num_classes)) if average == "macro" else None,
                  zero_division=0)
    return {"accuracy": float(accuracy_score(labels, predicted)), "f1": float(f1)}
