"""tfft's quality runs: one ``python -m tfft.main`` command each, in a process of its own.

Every run is the command a user would type, with tfft's defaults for everything the
command leaves out (learning rate, epochs, pooling, ...): the figures measure the defaults.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from typing import Any, Optional

from benchmarks.quality import data

MODES = ("full", "frozen", "adapter", "lora")


@dataclasses.dataclass
class Run:
    """One tfft command on one data set."""

    family: str  # sentiment | emotions | squad | t5
    dataset: str  # imdb, yelp, amazon, semeval2018-ec, squad2-excerpt
    variant: str  # what sets the run apart: "full", "full, tuned thresholds", ...
    flags: list[str]

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.variant}".replace(" ", "").replace(",", "+")

    def command(self, run_dir: str) -> list[str]:
        """The full command line, writing into ``run_dir``."""
        return [sys.executable, "-m", "tfft.main", *self.flags, f"--output_dir={run_dir}",
                f"--export_dir={os.path.join(run_dir, 'exports')}"]


def _files_flags(files: dict[str, str]) -> list[str]:
    return [f"--train_file={files['train']}", f"--validation_file={files['validation']}",
            f"--test_file={files['test']}"]


def sentiment_runs(name: str, quick: bool) -> list[Run]:
    """MiniLM in every fine-tuning mode on one sentiment set (``--quick``: full and frozen)."""
    base = ["--task=classification", "--model=minilm", *_files_flags(data.sentiment(name, quick)),
            "--label_names=negative,positive"]
    modes = ("full", "frozen") if quick else MODES
    return [Run("sentiment", name, mode, base + [f"--finetune={mode}"] + _quick_flags(quick)) for mode in modes]


def emotion_runs(quick: bool) -> list[Run]:
    """MiniLM, full fine-tuning, with and without tuned thresholds and label weights."""
    files, _ = data.emotions(quick)
    base = ["--task=sem_eval", "--model=minilm", *_files_flags(files), *_quick_flags(quick)]
    variants = {"full": [], "full, tuned thresholds": ["--tune_thresholds"],
                "full, tuned thresholds, label weights": ["--tune_thresholds", "--label_weights=auto"]}
    if quick:
        variants = {"full, tuned thresholds": ["--tune_thresholds"]}
    return [Run("emotions", "semeval2018-ec", v, base + flags) for v, flags in variants.items()]


def squad_runs(quick: bool) -> list[Run]:
    """MiniLM on the SQuAD 2.0 excerpt."""
    base = ["--task=squad_v2", "--model=minilm", *_files_flags(data.squad(quick)), *_quick_flags(quick)]
    runs = [Run("squad", "squad2-excerpt", "full", base)]
    if not quick:  # the defaults' 3 epochs at 5e-5 were still climbing on validation
        runs.append(Run("squad", "squad2-excerpt", "full, lr 1e-4, 6 epochs, max_length 256",
                        base + ["--learning_rate=1e-4", "--epochs=6", "--max_length=256"]))
    return runs


def t5_runs(quick: bool) -> list[Run]:
    """The scratch T5 (no pretrained T5 installs here) on the answerable SQuAD questions: a smoke figure."""
    base = ["--task=t5_qa", "--model=tiny-t5", *_files_flags(data.t5_rows(quick)), "--max_length=256",
            "--max_target_length=16", "--pad_to_multiple_of=16", "--batch_size=32", "--learning_rate=2e-3",
            "--generate_every=2", "--epochs=1" if quick else "--epochs=6"]
    return [Run("t5", "squad2-excerpt-t5", "scratch tiny-t5", base)]


def _quick_flags(quick: bool) -> list[str]:
    """--quick checks that the harness runs end to end; one short epoch is enough."""
    return ["--epochs=1", "--max_length=64"] if quick else []


def execute(run: Run, work: str) -> dict[str, Any]:
    """Runs ``run`` in a fresh process; returns its results.json, the wall time and the command.

    Raises:
        RuntimeError: the command failed (its last output lines are in the message).
    """
    run_dir = os.path.join(work, "runs", run.name)
    shutil.rmtree(run_dir, ignore_errors=True)  # the harness's own scratch directory
    command = run.command(run_dir)
    print(f"   {run.name}: {shlex.join(command[1:])}", flush=True)
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=data.ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"{run.name} failed with exit code {proc.returncode}:\n{tail}")
    with open(os.path.join(run_dir, "results.json"), encoding="utf-8") as f:
        results = json.load(f)
    shutil.rmtree(os.path.join(run_dir, "exports"), ignore_errors=True)  # 90 MB each; not needed
    return {"name": run.name, "family": run.family, "dataset": run.dataset, "variant": run.variant,
            "command": "python -m tfft.main " + shlex.join(run.flags), "seconds": round(seconds, 1),
            "test": results.get("test", {}), "validation": results.get("eval", {}),
            "best_epoch": results.get("best_epoch"), "train_steps": results.get("train_steps"),
            "settings": _settings(run_dir)}


def _settings(run_dir: str) -> Optional[dict[str, Any]]:
    """The values the run's defaults resolved to (learning rate, epochs, ...), from its run record."""
    path = os.path.join(run_dir, "run_config.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        cfg = json.load(f)
    keys = ("finetune", "learning_rate", "epochs", "batch_size", "max_length", "pooling", "cache_features",
            "early_stopping_patience", "tune_thresholds", "label_weights")
    return {k: cfg[k] for k in keys if k in cfg}
