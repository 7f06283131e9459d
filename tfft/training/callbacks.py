"""Callbacks: task metrics on validation every epoch, best-epoch weights, curves."""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Optional

import tensorflow as tf

LOWER_IS_BETTER = ("loss",)


class EvaluateAndKeepBest(tf.keras.callbacks.Callback):
    """Adds the task's validation metrics to the epoch logs (as ``val_<name>``), remembers the
    weights of the best epoch by ``metric`` (the later epoch on a tie), restores them when
    training ends, and stops after ``patience`` epochs without strict improvement (0: never).

    It must come before the progress bar and TensorBoard in the callback list so they see
    the added metrics (Keras appends its own progress bar last).

    With ``every`` > 1 the task metrics are computed every ``every`` epochs and after the
    last one (generation is slow); epochs without them cannot become the best epoch
    unless ``metric`` is one Keras logs itself (``loss``).
    """

    def __init__(self, evaluate: Optional[Callable[[], dict[str, float]]], metric: str, patience: int = 0,
                 every: int = 1) -> None:
        super().__init__()
        self.evaluate = evaluate
        self.every = max(int(every), 1)
        self.metric = metric
        self.patience = patience
        self.sign = -1.0 if any(metric.endswith(m) for m in LOWER_IS_BETTER) else 1.0
        self.best: Optional[float] = None
        self.best_epoch: Optional[int] = None
        self.best_weights: Optional[list[Any]] = None
        self.wait = 0

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        logs = logs if logs is not None else {}
        epochs = (getattr(self, "params", None) or {}).get("epochs")  # set by fit
        if self.evaluate is not None and ((epoch + 1) % self.every == 0 or epoch + 1 == epochs):
            for name, value in self.evaluate().items():
                logs[f"val_{name}"] = value
        value = logs.get(f"val_{self.metric}", logs.get(self.metric))
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        improved = self.best is None or self.sign * value > self.sign * self.best
        if improved or self.sign * value == self.sign * self.best:
            # a tie goes to the later epoch: same metric, more training (usually lower loss)
            self.best, self.best_epoch = float(value), epoch
            self.best_weights = self.model.get_weights()
        self.wait = 0 if improved else self.wait + 1
        if self.patience and self.wait >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def plot_history(history: dict[str, list[float]], path: str) -> Optional[str]:
    """Writes training vs validation curves (one panel per metric) to a PNG; returns its path."""
    names = [k for k in history if not k.startswith("val_") and k not in ("lr", "learning_rate")]
    names += [k[4:] for k in history if k.startswith("val_") and k[4:] not in history]
    if not names:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
            if key in history:
                ax.plot(range(1, len(history[key]) + 1), history[key], marker="o", label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
