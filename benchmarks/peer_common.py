"""What every peer script shares: the spec it is given, the CSV rows it reads and the line it reports.

Standard library only: the scripts run in the peers' own virtualenvs, without tfft.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from typing import Any

PREFIX = "@@peer "


def spec() -> dict[str, Any]:
    """The run's spec, given as JSON in ``argv[1]``: ``model_dir``, ``train_file``, ``test_file``,
    ``max_length``, ``batch``, ``epochs``, ``learning_rate``, ``warmup_ratio``, ``weight_decay``, ``seed``,
    ``out``; QA specs add ``task`` (``squad``) and ``doc_stride``."""
    return json.loads(sys.argv[1])


def read_rows(path: str) -> tuple[list[str], list[int]]:
    """Texts and labels of a ``text,label`` CSV."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [int(r["label"]) for r in rows]


def train_examples(s: dict[str, Any]) -> int:
    """Training examples of a spec: rows of its train CSV, or questions of its SQuAD JSON (QA)."""
    with open(s["train_file"], encoding="utf-8") as f:
        if s.get("task", "classification") == "classification":
            return sum(1 for _ in f) - 1
        return sum(len(p["qas"]) for article in json.load(f)["data"] for p in article["paragraphs"])


def score_name(s: dict[str, Any]) -> str:
    """The held-out score a spec's runs report: ``accuracy``, or SQuAD ``f1`` (percent) for QA."""
    return "accuracy" if s.get("task", "classification") == "classification" else "f1"


def report(train_seconds: float, examples: int, accuracy: float, **extra: Any) -> None:
    """Prints the one line the benchmark reads: pure training seconds (all epochs), examples
    trained on (all epochs) and the held-out score (:func:`score_name`; ``accuracy`` is its key
    whatever the metric)."""
    print(PREFIX + json.dumps({"train_seconds": train_seconds, "examples": examples, "accuracy": accuracy, **extra}),
          flush=True)


class EpochClock:
    """Pure training seconds of Keras epochs: from each epoch's start to its last train batch's end
    (the validation pass, checkpoints and metrics at the epoch's end are not training)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start = self._last = 0.0

    def begin(self) -> None:
        """At ``on_epoch_begin``."""
        self._start = self._last = time.perf_counter()

    def batch_end(self) -> None:
        """At ``on_train_batch_end``."""
        self._last = time.perf_counter()

    def epoch_end(self) -> None:
        """At ``on_epoch_end``."""
        self.seconds.append(self._last - self._start)
