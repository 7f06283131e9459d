"""tfft's side of the peer cases: the CLI itself (``python -m tfft.main``), with a clock on its epochs.

``python -m benchmarks.peer_tfft SPEC`` runs ``tfft.main`` on the spec's flags, exactly as a
user's command would, after wrapping the epoch-progress callback so the pure training
seconds (first batch to last, each epoch) can be reported beside the whole command's wall.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from benchmarks.peer_common import EpochClock, report, spec


def flags(s: dict[str, Any]) -> list[str]:
    """The CLI flags of a spec (no validation split: the peers train on all of train too)."""
    return [f"--model={s['model_dir']}", f"--train_file={s['train_file']}", f"--test_file={s['test_file']}",
            "--task=classification", "--label_names=0,1", f"--max_length={s['max_length']}",
            f"--batch_size={s['batch']}", f"--epochs={s['epochs']}", f"--learning_rate={s['learning_rate']}",
            f"--warmup_ratio={s['warmup_ratio']}", f"--weight_decay={s['weight_decay']}", f"--seed={s['seed']}",
            "--validation_split=0", f"--output_dir={s['out']}/run", f"--export_dir={s['out']}/exports",
            f"--cache_dir={s['out']}/cache", "--overwrite_output_dir", *s.get("extra_flags", [])]


def _timed(module: Any, name: str, seconds: dict[str, float], key: str) -> None:
    """Wraps ``module.name`` so each call adds its wall seconds to ``seconds[key]``."""
    inner = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - start

    setattr(module, name, wrapper)


def main() -> None:
    start = time.perf_counter()
    s = spec()
    import tfft.main as cli  # noqa: F401  (sets the Keras 2 API up before TensorFlow, as the CLI does)
    from tfft import baseline
    from tfft.serving import saved_model
    from tfft.training import callbacks, loop

    clock, phases = EpochClock(), {}
    _timed(saved_model, "export_run", phases, "export")  # the SavedModel, its self-check and publishing
    _timed(baseline, "score", phases, "baseline")

    class Timed(callbacks.EpochProgress):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            phases.setdefault("first_epoch_at", time.perf_counter() - start)
            clock.begin()
            super().on_epoch_begin(epoch, logs)

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            super().on_train_batch_end(batch, logs)
            clock.batch_end()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            clock.epoch_end()
            super().on_epoch_end(epoch, logs)

    loop.EpochProgress = Timed
    sys.argv = ["tfft", *flags(s)]
    try:
        cli.cli()
    except SystemExit as end:
        if end.code:
            raise
    with open(os.path.join(s["out"], "run", "results.json"), encoding="utf-8") as f:
        results = json.load(f)
    train_examples = sum(1 for _ in open(s["train_file"], encoding="utf-8")) - 1
    # start-up: imports, data, model load and compile, up to the first epoch, less the baseline
    startup = phases["first_epoch_at"] - phases.get("baseline", 0.0)
    report(sum(clock.seconds), train_examples * s["epochs"], results["test"]["accuracy"],
           epoch_seconds=clock.seconds, startup=startup, export=phases["export"],
           baseline=phases.get("baseline", 0.0))


if __name__ == "__main__":
    main()
