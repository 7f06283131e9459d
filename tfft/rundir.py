"""The run directory: which run owns it, and what it holds."""

from __future__ import annotations

import os
import time
from typing import Any, Optional

from tfft import io
from tfft.errors import TfftError

RUN_FILE = "run_config.json"
RESULTS_FILE = "results.json"
# What --mode=tune and --mode=lr_find write inside a run directory: not another run.
AUX_DIRS = ("tune", "lr_find")
# Fields that do not change what a run computes.
_NOT_IDENTITY = {"overwrite_output_dir", "text", "predict_file", "cache_dir", "question", "context",
                 "resume", "save_steps", "keep_checkpoints", "keep_checkpoints_at_end", "tensorboard",
                 "serving_device",  # only the export's batching file
                 # a tune continues with more trials, another storage or an export of its best
                 "tune_trials", "tune_storage", "tune_export_best"}


def _identity(cfg: Any) -> dict[str, Any]:
    return {k: v for k, v in cfg.to_dict().items() if k not in _NOT_IDENTITY}


def _previous(path: str) -> Any:
    record = os.path.join(path, RUN_FILE)
    try:
        return io.read_json(record) if os.path.isfile(record) else None
    except ValueError:  # a damaged record is "not this run"
        return None


def same_run(cfg: Any) -> bool:
    """Whether ``cfg.output_dir`` holds a run of this very config."""
    return _previous(cfg.output_dir) == _identity(cfg)


def finished(cfg: Any) -> Optional[dict[str, Any]]:
    """The results of a completed training run of this very config in ``cfg.output_dir``, or None.

    A training run is complete once its ``results.json`` is written with ``"complete": true``,
    which happens after ``model/`` and the export are written: an interrupted run never is.
    """
    path = os.path.join(cfg.output_dir, RESULTS_FILE)
    if cfg.mode != "train" or not os.path.isfile(path) or not same_run(cfg):
        return None
    try:
        results = io.read_json(path)
    except ValueError:  # damaged: not a record of completion
        return None
    return results if isinstance(results, dict) and results.get("complete") is True else None


def claim(cfg: Any, fresh: bool = False) -> str:
    """Makes ``cfg.output_dir`` this run's directory and returns it.

    The directory is free when it does not exist, holds nothing but a ``run_config.json``
    (a start that failed before writing anything else), or holds a run of the same config
    (unless ``fresh``: the run must start over). A different run is kept: an error, or with
    ``--overwrite_output_dir`` it is moved aside to ``<output_dir>.replaced-<time>`` (never
    deleted). Call :func:`tfft.preflight.check_destinations` first: this assumes ``path``
    can be created and written.
    """
    path = cfg.output_dir
    record = os.path.join(path, RUN_FILE)
    wanted = _identity(cfg)
    if os.path.isdir(path) and set(os.listdir(path)) - {RUN_FILE, *AUX_DIRS}:
        previous = _previous(path)
        if previous != wanted or fresh:
            if not cfg.overwrite_output_dir:
                what = "a different run" if previous is not None else "files that are not a tfft run"
                diff = _differences(previous, wanted)
                raise TfftError(f"--output_dir '{path}' already holds {what}{diff}. Pass another --output_dir, "
                                "or --overwrite_output_dir to move the old one aside.")
            aside = f"{path.rstrip(os.sep)}.replaced-{time.strftime('%Y%m%d-%H%M%S')}"
            os.rename(path, aside)
            print(f"Moved the previous contents of {path} to {aside}")
    os.makedirs(path, exist_ok=True)
    io.write_json(record, wanted)
    return path


def _differences(previous: Any, wanted: dict[str, Any]) -> str:
    if not isinstance(previous, dict):
        return ""
    changed = [k for k in wanted if previous.get(k) != wanted[k]][:4]
    return f" (differs in: {', '.join(changed)})" if changed else ""

