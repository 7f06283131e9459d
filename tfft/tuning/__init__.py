"""Hyperparameter search on Optuna (``--mode=tune``) and the learning-rate range test (``--mode=lr_find``).

A tune writes under ``<output_dir>/tune/``: ``study.db`` (the Optuna study, resumable),
``trial-NNN/`` (one training run per trial, results.json but no export), ``trials.csv``,
plots and ``best.flags`` (the base flags plus the best trial's parameters).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Optional, Union

from tfft.tuning.space import Param, parse_space  # noqa: F401  (Param: the API's type)

if TYPE_CHECKING:  # tfft.config imports tfft.tuning.options, so this package loads first
    from tfft.config import Config

TUNE_DIR = "tune"


def run_tune(cfg: "Config") -> dict[str, Any]:
    """Runs ``cfg``'s study to ``--tune_trials`` and writes its outputs; returns its summary."""
    return tune(cfg).results


def tune(cfg: "Config", space: Union[str, dict[str, Any], None] = None, trials: Optional[int] = None) -> Any:
    """Searches ``space`` (default ``cfg.tune_space``) with ``trials`` (default ``cfg.tune_trials``).

    ``space`` is ``--tune_space`` text, a file path, or a dict as a space file holds
    (``{"learning_rate": "1e-5:1e-3:log", "batch_size": [16, 32]}``).

    Example:
        >>> study = tfft.tune(cfg, "learning_rate=1e-5:1e-3:log,batch_size=16|32", trials=12)
        >>> study.best_params

    Returns:
        The Optuna study; ``study.results`` holds what the CLI writes to results.json.
    """
    from tfft import preflight, rundir
    from tfft.tuning.study import optimize

    text = inline_space(space) if isinstance(space, dict) else space or cfg.tune_space
    cfg = cfg.replace(mode="tune", tune_space=text, tune_trials=trials or cfg.tune_trials)
    params = parse_space(cfg.tune_space)
    tune_dir = os.path.join(cfg.output_dir, TUNE_DIR)
    preflight.check_destinations(cfg)
    rundir.claim(cfg.replace(output_dir=tune_dir))
    study = optimize(cfg, params, tune_dir)
    study.results = _report(study, cfg, params, tune_dir)
    return study


def _report(study: Any, cfg: "Config", params: list[Param], tune_dir: str) -> dict[str, Any]:
    """The table, trials.csv, plots and best.flags (and the best trial trained and exported with
    ``--tune_export_best``); returns what goes to ``<tune dir>/results.json``."""
    from tfft import io
    from tfft.tuning import outputs
    from tfft.tuning.objective import trial_config

    rows = outputs.trial_rows(study)
    best = _best(study)
    print("\n" + outputs.table(rows, cfg.metric_for_best, None if best is None else best.number))
    results: dict[str, Any] = {"task": cfg.task, "model": cfg.model, "metric": cfg.metric_for_best,
                               "trials": len(rows),
                               "trials_csv": outputs.write_csv(rows, os.path.join(tune_dir, "trials.csv"))}
    lr = next((p.name for p in params if p.name == "learning_rate"), None)
    results["plots"] = outputs.plots(study, tune_dir, lr)
    if best is not None:
        best_cfg = trial_config(cfg, best.params, os.path.join(tune_dir, "best"))
        note = f"tfft tune: trial {best.number} of {len(rows)}, validation {cfg.metric_for_best} {best.value:.4f}"
        results.update(best_trial=best.number, best_value=best.value, best_params=best.params,
                       best_flags=outputs.write_best_flags(best_cfg, os.path.join(tune_dir, "best.flags"), note))
        print(f"Best: trial {best.number}, {cfg.metric_for_best} {best.value:.4f} "
              f"({', '.join(f'{k}={v}' for k, v in best.params.items())}); its flags: {results['best_flags']}")
        if cfg.tune_export_best:
            from tfft.runner import train

            results["best_run"] = train(best_cfg).get("export")
    else:
        print("No trial completed: no best.flags (see the failures above).")
    io.write_json(os.path.join(tune_dir, "results.json"), results)
    return results


def inline_space(space: dict[str, Any]) -> str:
    """A space dict (as in a JSON/YAML space file) as ``--tune_space`` text."""
    parts = []
    for name, spec in space.items():
        if isinstance(spec, (list, tuple)):
            spec = "|".join(str(v) for v in spec)
        elif isinstance(spec, dict):
            spec = f"{spec.get('low')}:{spec.get('high')}" + (":log" if spec.get("log") else "")
        parts.append(f"{name}={spec}")
    return ",".join(parts)


def _best(study: Any) -> Any:
    from optuna.trial import TrialState

    return study.best_trial if study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) else None


def lr_find(cfg: "Config") -> dict[str, Any]:
    """The learning-rate range test; see :func:`tfft.tuning.rangetest.lr_find`."""
    from tfft.tuning.rangetest import lr_find as find

    return find(cfg)
