"""Callbacks: epoch progress, task metrics on validation every epoch, best-epoch weights."""

from __future__ import annotations

import math
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
        #: Called with (epoch, scored) when an epoch becomes the best; ``scored``: its task
        #: metrics were computed this epoch (so the caller can keep that pass's outputs).
        self.on_best: Optional[Callable[[int, bool], None]] = None

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        logs = logs if logs is not None else {}
        epochs = self.epochs or (getattr(self, "params", None) or {}).get("epochs")  # set by fit
        scored = self.evaluate is not None and ((epoch + 1) % self.every == 0 or epoch + 1 == epochs)
        if scored:
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
            if self.on_best is not None:
                self.on_best(epoch, scored)
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
