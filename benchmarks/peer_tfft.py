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

from benchmarks.peer_common import EpochClock, report, score_name, spec, train_examples


def flags(s: dict[str, Any]) -> list[str]:
    """The CLI flags of a spec (no validation split: the peers train on all of train too).

    ``s["task"]`` is ``classification`` (the default: ``text,label`` CSVs) or ``squad``
    (SQuAD JSON files; ``s["doc_stride"]`` tokens shared by a long context's windows).
    """
    task = s.get("task", "classification")
    by_task = (["--label_names=0,1"] if task == "classification" else
               [f"--doc_stride={s['doc_stride']}", "--metric_for_best=f1"])
    return [f"--model={s['model_dir']}", f"--train_file={s['train_file']}", f"--test_file={s['test_file']}",
            f"--task={task}", *by_task, f"--max_length={s['max_length']}",
            f"--batch_size={s['batch']}", f"--epochs={s['epochs']}", f"--learning_rate={s['learning_rate']}",
            f"--warmup_ratio={s['warmup_ratio']}", f"--weight_decay={s['weight_decay']}", f"--seed={s['seed']}",
            "--validation_split=0", f"--output_dir={s['out']}/run", f"--export_dir={s['out']}/exports",
            f"--cache_dir={s['out']}/cache", "--overwrite_output_dir", *s.get("extra_flags", [])]


def _timed(module: Any, name: str, seconds: dict[str, float], key: str, optional: bool = False) -> None:
    """Wraps ``module.name`` so each call adds its wall seconds to ``seconds[key]``.

    ``optional``: a breakdown phase whose function tfft may have moved or renamed is left
    unmeasured (reported as ``None``) rather than failing the run.
    """
    if optional and not hasattr(module, name):
        return
    inner = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - start

    setattr(module, name, wrapper)


# where the rest of the non-training time goes: (module name, attribute, phase)
BREAKDOWN = (("tfft.runner", "build_model", "model_load"), ("tfft.runner", "_score", "scoring"),
             ("tfft.runner", "save_trained", "save"), ("tfft.runner", "plot_history", "curves"))


def main() -> None:
    start = time.perf_counter()
    s = spec()
    import tfft.main as cli  # noqa: F401  (sets the Keras 2 API up before TensorFlow, as the CLI does)
    import importlib

    from tfft import baseline
    from tfft.serving import saved_model
    from tfft.training import callbacks, checkpoints, loop

    clock, phases = EpochClock(), {}
    _timed(saved_model, "export_run", phases, "export")  # the SavedModel, its self-check and publishing
    _timed(baseline, "score", phases, "baseline")
    for module, name, key in BREAKDOWN:
        _timed(importlib.import_module(module), name, phases, key, optional=True)
    _timed(checkpoints.RunState, "save", phases, "checkpoints", optional=True)

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
        cli.cli(fast_exit=False)  # the report below comes first; then the process ends as the CLI's does
    except SystemExit as end:
        if end.code:
            raise
    with open(os.path.join(s["out"], "run", "results.json"), encoding="utf-8") as f:
        results = json.load(f)
    # start-up: imports, data, model load and compile, up to the first epoch, less the baseline
    startup = phases["first_epoch_at"] - phases.get("baseline", 0.0)
    report(sum(clock.seconds), train_examples(s) * s["epochs"], results["test"][score_name(s)],
           epoch_seconds=clock.seconds, startup=startup, first_epoch_at=phases["first_epoch_at"],
           export=phases["export"], baseline=phases.get("baseline", 0.0),
           **{k: phases.get(k) for k in ("model_load", "scoring", "save", "curves", "checkpoints")})
    cli.exit_now(0)


if __name__ == "__main__":
    main()
