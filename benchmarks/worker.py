"""A training run in a process of its own, driven one epoch at a time, so a case can time
runs that need other process settings side by side with its in-process run.

The usual pipeline runs this way with TensorFlow's default CPU allocator (``malloc``), as
it runs for a user without tfft, which turns on TensorFlow's pooling allocator when
imported (``tfft._env.use_pooled_cpu_allocator``). The parent writes one command a line
(``epoch N``, ``accuracy``, ``quit``); the worker answers each with one ``@@``-prefixed line.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from typing import Any

_PREFIX = "@@"


class Worker:
    """``python -m benchmarks.worker KIND SPEC`` with ``env`` added to this process's environment.

    ``kind``: ``usual`` (a Hugging Face model fed a NumPy dict padded to ``max_length``,
    spec of :func:`_usual_run`) or ``tfft`` (spec: a ``tfft.Config``'s fields).
    """

    def __init__(self, kind: str, spec: dict[str, Any], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.worker", kind, json.dumps(spec)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env})
        self._answer("ready")

    def _answer(self, command: str) -> str:
        for line in self.proc.stdout:
            if line.startswith(_PREFIX):
                return line[len(_PREFIX):].strip()
        raise RuntimeError(f"benchmark worker exited (code {self.proc.wait()}) before answering {command!r}")

    def _ask(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._answer(command)

    def epoch(self, epoch: int) -> None:
        """Trains epoch ``epoch`` (counting from 0) and returns when it is done."""
        self._ask(f"epoch {epoch}")

    def accuracy(self) -> float:
        """Held-out accuracy of the model as trained so far."""
        return float(self._ask("accuracy"))

    def close(self) -> None:
        """Ends the worker process."""
        if self.proc.poll() is None:
            self._ask("quit")
            self.proc.wait(timeout=60)


def _read_rows(path: str) -> list[tuple[str, int]]:
    with open(path, newline="", encoding="utf-8") as f:
        return [(row["text"], int(row["label"])) for row in csv.DictReader(f)]


def _usual_run(spec: dict[str, Any]) -> tuple[Any, Any]:
    """(train one epoch, held-out accuracy) of the usual pipeline: ``model_dir``, ``train_file``,
    ``heldout_file``, ``max_length``, ``batch``, ``seed``, ``learning_rate``, ``weight_decay``,
    ``warmup_ratio``, ``steps``."""
    from transformers import AutoTokenizer

    from benchmarks.usual import usual_inputs, usual_model

    tokenizer = AutoTokenizer.from_pretrained(spec["model_dir"])
    model = usual_model(spec)
    x, y = usual_inputs(tokenizer, _read_rows(spec["train_file"]), spec["max_length"])
    held_x, held_y = usual_inputs(tokenizer, _read_rows(spec["heldout_file"]), spec["max_length"])

    def epoch(n: int) -> None:
        model.fit(x, y, batch_size=spec["batch"], shuffle=True, initial_epoch=n, epochs=n + 1, verbose=0)

    def accuracy() -> float:
        result = model.evaluate(held_x, held_y, batch_size=spec["batch"] * 4, verbose=0, return_dict=True)
        return float(result["accuracy"])

    return epoch, accuracy


def _tfft_run(spec: dict[str, Any]) -> tuple[Any, Any]:
    import tfft

    cfg = tfft.Config.from_dict(spec)
    train_ds, _ = tfft.datasets(cfg)
    model = tfft.build_model(cfg)

    def epoch(n: int) -> None:
        model.fit(train_ds, initial_epoch=n, epochs=n + 1, verbose=0)

    return epoch, lambda: float(tfft.evaluate(model, cfg, "validation")["accuracy"])


def main(kind: str, spec: dict[str, Any]) -> None:
    """Builds the run, then answers commands from stdin until ``quit``."""
    import tfft  # noqa: F401  (Keras 2 before TensorFlow; keeps an allocator setting given in env)
    from tfft import _env

    _env.quiet_libraries()
    _env.import_tensorflow_quietly()
    epoch, accuracy = (_usual_run if kind == "usual" else _tfft_run)(spec)
    print(_PREFIX + "ready", flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "quit":
            print(_PREFIX + "bye", flush=True)
            return
        answer = accuracy() if command == "accuracy" else epoch(int(args[0]))
        print(_PREFIX + ("done" if answer is None else repr(answer)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
