"""TensorBoard: the scalars of every epoch and, for tasks that write text, a few validation
predictions beside their references (``tensorboard --logdir <output_dir>/tensorboard``).

Two runs under the log dir, ``train`` and ``validation``, so TensorBoard draws a metric's
train and validation curves in one chart: ``loss`` in both, the task's validation metrics
(``f1``, ``exact_match``, ...) in ``validation``, ``learning_rate`` in ``train``; the step
is the epoch (1-based, as the console and ``curves.png`` count). The text summary
``predictions`` is a Markdown table TensorBoard's Text tab renders.
"""

from __future__ import annotations

import os
from typing import Any, Optional

import numpy as np
import tensorflow as tf

BOARD_DIR = "tensorboard"
SAMPLES = 5  # validation predictions shown per epoch: a glance, not a report (predictions.jsonl has all)
CELL_CHARS = 300  # a seq2seq input holds a whole context; its start says which example it is


class EpochBoard(tf.keras.callbacks.Callback):
    """Writes each epoch's logs to TensorBoard at the epoch's end.

    It must come after the best-epoch tracker in the callback list, which adds the task's
    validation metrics to the logs; whatever scored them may leave :attr:`samples` (rows of
    ``{column: text}``) for this epoch's text summary.
    """

    def __init__(self, log_dir: str, samples: int = SAMPLES) -> None:
        """Args:
            log_dir: The board's directory (``<output_dir>/tensorboard``).
            samples: Predictions the scorer is asked to leave per epoch.
        """
        super().__init__()
        self.log_dir, self.sample_count = log_dir, samples
        self.samples: list[dict[str, str]] = []
        self._writers: dict[str, Any] = {}

    def _writer(self, run: str) -> Any:
        if run not in self._writers:
            self._writers[run] = tf.summary.create_file_writer(os.path.join(self.log_dir, run))
        return self._writers[run]

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        step = epoch + 1
        scalars = {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}
        train = {k: v for k, v in scalars.items() if not k.startswith("val_")}
        lr = learning_rate(self.model.optimizer)
        if lr is not None:
            train["learning_rate"] = lr
        validation = {k[len("val_"):]: v for k, v in scalars.items() if k.startswith("val_")}
        for run, values in (("train", train), ("validation", validation)):
            if values or (run == "validation" and self.samples):
                with self._writer(run).as_default():
                    for name, value in values.items():
                        tf.summary.scalar(name, value, step=step)
                    if run == "validation" and self.samples:
                        tf.summary.text("predictions", markdown_table(self.samples), step=step)
                self._writer(run).flush()  # a board open during training shows the epoch now
        self.samples = []

    def close(self) -> None:
        """Closes the event files."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


def learning_rate(optimizer: Any) -> Optional[float]:
    """The learning rate of the optimizer's last update (a schedule's current value), or None."""
    value = getattr(optimizer, "learning_rate", None)
    if value is None:
        return None
    if isinstance(value, tf.keras.optimizers.schedules.LearningRateSchedule):
        value = value(optimizer.iterations)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def markdown_table(rows: list[dict[str, str]]) -> str:
    """Rows of ``{column: text}`` as a Markdown table (``|`` and newlines escaped, long cells cut)."""
    columns = list(rows[0])

    def cell(value: Any) -> str:
        text = " ".join(str(value).split())
        text = text if len(text) <= CELL_CHARS else text[:CELL_CHARS - 3] + "..."
        return text.replace("|", "\\|") or " "

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)
