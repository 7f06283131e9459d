"""``tfft.run(cfg)``: one mode of a run, chosen by ``cfg.mode``.

It stands above the modes it dispatches to (:mod:`tfft.runner`'s train, evaluate, predict and
export; :mod:`tfft.tuning`'s tune and range test, which train through the runner), so none
of them imports another's dispatcher.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Callable

from tfft import rundir, runner
from tfft.config import Config
from tfft.training import checkpoints
from tfft.training.strategy import is_chief, strategy_for


def _tune(cfg: Config) -> Any:
    from tfft.tuning import run_tune

    return run_tune(cfg)


def _lr_find(cfg: Config) -> Any:
    from tfft.tuning.rangetest import lr_find

    return lr_find(cfg)


MODES: dict[str, Callable[[Config], Any]] = {
    "train": runner.train, "evaluate": runner.evaluate, "predict": runner.predict, "export": runner.export,
    "tune": _tune, "lr_find": _lr_find}


def run(cfg: Config) -> dict[str, Any]:
    """Runs ``cfg.mode`` and returns its results (also written to ``results.json``).

    A completed training run of the same config is not trained again (unless
    ``--overwrite_output_dir``): one line, nothing written, its recorded results returned.

    In a multi-worker run every worker trains, but only the chief writes where the config
    says; the other workers write to a temporary directory that is removed afterwards.
    """
    try:
        return _run(cfg)
    finally:  # a run that stopped after training leaves its last checkpoint written whole
        checkpoints.settle()


def _run(cfg: Config) -> dict[str, Any]:
    """The body of :func:`run`."""
    done = None if cfg.overwrite_output_dir else rundir.finished(cfg)  # on a shared disk every worker stops
    if done is not None:
        return runner.already_complete(cfg, done)
    mode = MODES[cfg.mode]
    if cfg.strategy != "multi_worker":
        return mode(cfg)
    strategy_for(cfg)  # first: it configures the collective ops of the TF runtime
    if is_chief():
        return mode(cfg)
    with tempfile.TemporaryDirectory(prefix="tfft-worker-") as scratch:
        return mode(cfg.replace(output_dir=os.path.join(scratch, "run"), export_dir=os.path.join(scratch, "exports")))
