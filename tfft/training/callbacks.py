"""Callbacks: task metrics on validation every epoch, best-epoch weights, curves."""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Optional

import numpy as np
import tensorflow as tf

from tfft import progress

LOWER_IS_BETTER = ("loss",)


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of ``metric`` (a ``--metric_for_best`` name) is better: losses."""
    return any(metric.endswith(m) for m in LOWER_IS_BETTER)


class EpochProgress(tf.keras.callbacks.Callback):
    """Each epoch as a :class:`tfft.progress.Progress` named ``Epoch k/N`` of the whole run: a
    live bar on a terminal, a line every ~15 s in logs, and one line at its end with its time
    and the epoch's metrics. Keras' validation pass shows its batches the same way.

    tfft fits one epoch per ``fit`` call (so a resumed run can skip the batches it did), where
    Keras' own bar would head the k-th epoch ``Epoch k/k``; and in a log Keras prints nothing
    until an epoch ends. Fit with ``verbose=0`` inside ``with EpochProgress(...) as shown:``
    (which ends the bar of an epoch an error stopped), after the best-epoch tracker in the
    callback list so that the end line has its metrics.
    """

    def __init__(self, total_epochs: int, steps: Optional[int] = None,
                 validation_data: Optional[tf.data.Dataset] = None) -> None:
        """Args:
            total_epochs: Epochs of the whole run.
            steps: Batches the next epoch trains on (default: what ``fit`` knows).
            validation_data: The ``validation_data`` given to ``fit``, to count its batches.
        """
        super().__init__()
        self._supports_tf_logs = True  # the loss is read when a line is printed, not every step
        self.total_epochs, self.steps = total_epochs, steps
        self.val_steps = None if validation_data is None else progress.known(int(validation_data.cardinality()))
        self.bars: dict[str, progress.Progress] = {}

    def __enter__(self) -> "EpochProgress":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        for bar in reversed(list(self.bars.values())):  # the validation pass inside the epoch first
            bar.close(failed=exc_type is not None)
        self.bars.clear()

    def _open(self, key: str, bar: progress.Progress) -> None:
        self.bars[key] = bar.__enter__()

    def on_epoch_begin(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        steps = self.steps or progress.known(self.params.get("steps"))
        self._open("train", progress.Progress(f"Epoch {epoch + 1}/{self.total_epochs}", steps, "steps", quiet=0))

    def on_train_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        loss = (logs or {}).get("loss")
        self.bars["train"].update(1, note="" if loss is None else lambda: f"loss {float(loss):.4f}")

    def on_test_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        if "train" in self.bars:  # the validation loss of an epoch, not a separate evaluate()
            self._open("validation", progress.Progress("Validation loss", self.val_steps, "batches"))

    def on_test_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        if "validation" in self.bars:
            self.bars["validation"].update(1)

    def on_test_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        if "validation" in self.bars:
            self.bars.pop("validation").close()

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        metrics = " - ".join(f"{k} {float(v):.4f}" for k, v in (logs or {}).items() if np.ndim(v) == 0)
        self.bars.pop("train").close(result=metrics)


class EvaluateAndKeepBest(tf.keras.callbacks.Callback):
    """Adds the task's validation metrics to the epoch logs (as ``val_<name>``), remembers the
    weights of the best epoch by ``metric`` (the later epoch on a tie), restores them when
    training ends, and stops after ``patience`` epochs without strict improvement (0: never).

    It must come before the progress bar and TensorBoard in the callback list so they see
    the added metrics (Keras appends its own progress bar last).

    With ``every`` > 1 the task metrics are computed every ``every`` epochs and after the
    last one (generation is slow); epochs without them cannot become the best epoch
    unless ``metric`` is one Keras logs itself (``loss``).

    Training split over several ``fit`` calls (one per epoch, so a resumed run can start
    mid-epoch) passes ``epochs`` (the run's total) and ``restore_at_end=False``, then calls
    :meth:`restore_best` once; :meth:`state` / :meth:`load_state` carry the tracking over a resume.
    """

    def __init__(self, evaluate: Optional[Callable[[], dict[str, float]]], metric: str, patience: int = 0,
                 every: int = 1, epochs: Optional[int] = None, restore_at_end: bool = True) -> None:
        super().__init__()
        self.epochs = epochs
        self.restore_at_end = restore_at_end
        self.evaluate = evaluate
        self.every = max(int(every), 1)
        self.metric = metric
        self.patience = patience
        self.sign = -1.0 if lower_is_better(metric) else 1.0
        self.best: Optional[float] = None
        self.best_epoch: Optional[int] = None
        self.best_weights: Optional[list[Any]] = None
        self.wait = 0

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        logs = logs if logs is not None else {}
        epochs = self.epochs or (getattr(self, "params", None) or {}).get("epochs")  # set by fit
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

    @property
    def out_of_patience(self) -> bool:
        """Whether early stopping has ended training."""
        return bool(self.patience) and self.wait >= self.patience

    def on_train_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        if self.restore_at_end:
            self.restore_best()

    def restore_best(self) -> None:
        """Gives the model the best epoch's weights (if any epoch was scored)."""
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)

    def state(self) -> dict[str, Any]:
        """The tracking state as JSON-ready values (the best weights are saved separately)."""
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state(self, state: dict[str, Any], best_weights: Optional[list[Any]]) -> None:
        """Continues tracking from :meth:`state` and the best epoch's weights."""
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.best_weights = best_weights if self.best_epoch is not None else None


def plot_history(history: dict[str, list[float]], path: str, best_epoch: Optional[int] = None,
                 metric: Optional[str] = None) -> Optional[str]:
    """Writes training vs validation curves to a PNG (see :func:`history_figure`); returns its path."""
    fig = history_figure(history, best_epoch, metric)
    if fig is None:
        return None
    import matplotlib.pyplot as plt

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}.png"  # written whole, then renamed: never half an image
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return path


GRID_COLUMNS = 3  # 7 multi-label panels in one row were 2800 x 320 pixels; 3 x 3 keep each readable


def history_figure(history: dict[str, list[float]], best_epoch: Optional[int] = None,
                   metric: Optional[str] = None) -> Any:
    """One panel per metric (train and validation curves) in a grid, or None without metrics.

    Args:
        history: Per-epoch values by Keras log name (``loss``, ``val_f1``, ...).
        best_epoch: The kept epoch (1-based), marked on every panel.
        metric: The metric that picked it (``metric_for_best``), starred on its panel.
    """
    names = [k for k in history if not k.startswith("val_") and k not in ("lr", "learning_rate")]
    names += [k[4:] for k in history if k.startswith("val_") and k[4:] not in history]
    if not names:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(len(names), GRID_COLUMNS)
    rows = math.ceil(len(names) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        _panel(ax, history, name, best_epoch, starred=name == metric)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def _panel(ax: Any, history: dict[str, list[float]], name: str, best_epoch: Optional[int], starred: bool) -> None:
    from matplotlib.ticker import MaxNLocator

    values: list[float] = []
    for key, label in ((name, "train"), (f"val_{name}", "validation")):
        if key in history:
            ax.plot(range(1, len(history[key]) + 1), history[key], marker="o", label=label, clip_on=False)
            values += [v for v in history[key] if math.isfinite(v)]
    epochs = max(len(history[k]) for k in (name, f"val_{name}") if k in history)
    if best_epoch:
        ax.axvline(best_epoch, color="0.4", linestyle="--", linewidth=1, label=f"kept epoch {best_epoch}")
        kept = history.get(f"val_{name}", [])
        if starred and best_epoch <= len(kept):
            ax.plot([best_epoch], [kept[best_epoch - 1]], marker="*", markersize=15, color="C3", linestyle="none",
                    clip_on=False, zorder=3, label=f"best val_{name}")
    ax.set_xlim(0.5, epochs + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole: no 1.5 ticks
    if values:
        ax.set_ylim(*metric_limits(name, values))
    ax.set_title(name)
    ax.set_xlabel("epoch")
    ax.legend()


def metric_limits(name: str, values: list[float]) -> tuple[float, float]:
    """A y range around ``values`` (8% margins) that stays inside what the metric can be: a
    loss is >= 0, a score in [0, 1] (or [0, 100] for SQuAD's percentages) never shows 1.04;
    a threshold (``best_f1_thresh``) can be any number."""
    low, high = min(values), max(values)
    margin = (high - low) * 0.08 or max(abs(high) * 0.05, 0.01)
    bottom, top = low - margin, high + margin
    if "thresh" in name or low < 0:
        return bottom, top
    ceiling = math.inf if name.endswith("loss") else 1.0 if high <= 1 else 100.0 if high <= 100 else math.inf
    return max(bottom, 0.0), min(top, ceiling)
