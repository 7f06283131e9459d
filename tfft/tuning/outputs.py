"""What a tune leaves: the console table, ``trials.csv``, ``best.flags`` and plots."""

from __future__ import annotations

import csv
import dataclasses
import math
import os
from typing import Any, Optional

from tfft.config import Config

# Fields best.flags never carries: the tune's own (the flagfile is a training run's).
_NOT_FLAGS = frozenset({"mode", "tune_space", "tune_trials", "tune_pruner", "tune_storage", "tune_export_best",
                        "lr_find_steps", "overwrite_output_dir"})


def trial_rows(study: Any) -> list[dict[str, Any]]:
    """One row per trial: number, state, value, duration, params and why it failed or was pruned."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete and t.datetime_start else None
        note = t.user_attrs.get("failure") or ("cut off" if t.user_attrs.get("interrupted") else "")
        if t.user_attrs.get("pruned_after_epoch"):
            note = f"after epoch {t.user_attrs['pruned_after_epoch']}"
        rows.append({"trial": t.number, "state": t.state.name.lower(), "value": t.value,
                     "seconds": None if seconds is None else round(seconds, 1), **t.params, "note": note})
    return rows


def write_csv(rows: list[dict[str, Any]], path: str) -> str:
    """``trials.csv`` with one column per parameter."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
    return path


def table(rows: list[dict[str, Any]], metric: str, best: Optional[int]) -> str:
    """The trials as an aligned text table; the best one marked with ``*``."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    header = [metric if c == "value" else c for c in columns]
    cells = [[_cell(row.get(c)) + ("*" if c == "trial" and row["trial"] == best else "") for c in columns]
             for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def flag_lines(cfg: Config) -> list[str]:
    """Flags that give back ``cfg``: every field set to other than its default (derived values are
    left out, so they are derived again the same way)."""
    from tfft.flags import _kind

    lines = []
    derived = getattr(cfg, "_derived", frozenset())
    for field in dataclasses.fields(Config):
        value = getattr(cfg, field.name)
        if field.name in _NOT_FLAGS or field.name in derived or value == field.default or value is None:
            continue
        kind = _kind(field)
        if kind is tuple and field.metadata.get("multi"):
            lines += [f"--{field.name}={v}" for v in value]
        elif kind is tuple:
            lines.append(f"--{field.name}={','.join(value)}")
        elif isinstance(value, bool):
            lines.append(f"--{field.name}={'true' if value else 'false'}")
        else:
            lines.append(f"--{field.name}={value!r}" if isinstance(value, float) else f"--{field.name}={value}")
    return lines


def write_best_flags(cfg: Config, path: str, note: str) -> str:
    """``best.flags``: a flagfile (``--flagfile=best.flags``) that trains ``cfg``."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"# {note}\n" + "\n".join(flag_lines(cfg)) + "\n")
    os.replace(tmp, path)
    return path


def plots(study: Any, tune_dir: str, lr_param: Optional[str]) -> list[str]:
    """Optimisation history, parameter importances and the learning-rate slice as PNGs (those
    the finished trials can draw: importances need two complete trials and two parameters)."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    made = []
    wanted = [("history.png", lambda: ovm.plot_optimization_history(study)),
              ("importances.png", lambda: ovm.plot_param_importances(study))]
    if lr_param:
        wanted.append(("lr_slice.png", lambda: ovm.plot_slice(study, params=[lr_param])))
    for name, draw in wanted:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna's "experimental" notes
                ax = draw()
            fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
            fig.set_size_inches(7, 4.5)
            fig.tight_layout()
            fig.savefig(os.path.join(tune_dir, name), dpi=100)
            plt.close(fig)
            made.append(os.path.join(tune_dir, name))
        except (ValueError, RuntimeError, ImportError, IndexError, ZeroDivisionError):
            continue  # too few complete trials for this plot
    return made


def hparams_summary(tune_dir: str, number: int, params: dict[str, Any], metric: str, value: float) -> None:
    """One trial in TensorBoard's HParams tab (``tensorboard --logdir <tune dir>/logs``)."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    with tf.summary.create_file_writer(os.path.join(tune_dir, "logs", f"trial-{number:03d}")).as_default():
        hp.hparams(params, trial_id=f"trial-{number:03d}")
        tf.summary.scalar(f"val_{metric}", value, step=0)
