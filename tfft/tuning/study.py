"""The Optuna study of ``--mode=tune``: storage, sampler, pruner, and running it to its trial count.

The study lives in ``<output_dir>/tune/study.db`` (SQLite) unless ``--tune_storage`` names
another database, so the same command resumes a stopped tune with its finished trials, and
processes on many machines pointed at one database share one study.
"""

from __future__ import annotations

import os
from typing import Any

from tfft.config import Config
from tfft.tuning.objective import FAILURE_ATTR, INTERRUPTED_ATTR, Objective
from tfft.tuning.space import Param
from tfft.training.callbacks import lower_is_better

STUDY_NAME = "tfft"


def storage_url(cfg: Config, tune_dir: str) -> str:
    """``--tune_storage``, else the SQLite file ``<tune dir>/study.db``."""
    return cfg.tune_storage or f"sqlite:///{os.path.abspath(os.path.join(tune_dir, 'study.db'))}"


def make_pruner(name: str) -> Any:
    """``median``: below the median of earlier trials at the same epoch, after one complete
    trial | ``halving``: successive halving, its first rung after epoch 1 (steps are epochs trained) | ``none``."""
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    return optuna.pruners.NopPruner()


def open_study(cfg: Config, tune_dir: str) -> Any:
    """Creates or loads the study (TPE seeded by ``--seed``; its direction from ``--metric_for_best``)."""
    import optuna

    # tfft prints each trial's start, a failed trial's reason in one line and the table; Optuna's
    # own warning for a failed trial repeats it with a traceback
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url = storage_url(cfg, tune_dir)
    # SQLite locks the whole file per write; processes sharing it wait up to a minute, not 5 s
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None
    storage = optuna.storages.RDBStorage(url, engine_kwargs=engine)
    sampler = optuna.samplers.TPESampler(seed=cfg.seed, n_startup_trials=min(5, max(cfg.tune_trials // 2, 1)))
    study = optuna.create_study(study_name=STUDY_NAME, storage=storage, sampler=sampler,
                                pruner=make_pruner(cfg.tune_pruner), load_if_exists=True,
                                direction="minimize" if lower_is_better(cfg.metric_for_best) else "maximize")
    if not cfg.tune_storage:  # a local study has no other process: a trial still running was cut off
        _mark_interrupted(study, storage)
    return study


def _mark_interrupted(study: Any, storage: Any) -> None:
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        storage.set_trial_user_attr(trial._trial_id, INTERRUPTED_ATTR, True)
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        print(f"Trial {trial.number} was cut off when the tune stopped; it is recorded as failed and not counted.")


def counted(study: Any) -> int:
    """Trials that count towards ``--tune_trials``: finished (complete, pruned, failed) or
    running, less those cut off by a stopped tune."""
    from optuna.trial import TrialState

    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)
    return sum(1 for t in study.get_trials(deepcopy=False, states=states) if not t.user_attrs.get(INTERRUPTED_ATTR))


def optimize(cfg: Config, space: list[Param], tune_dir: str) -> Any:
    """Runs trials one at a time until the study has ``cfg.tune_trials``; returns the study.

    A trial that fails (NaN loss, out of memory, an error) is recorded with its reason and
    the study goes on; a stop signal ends the tune (run the same command to continue).
    """
    import optuna

    from tfft.training.checkpoints import TrainingInterrupted

    study = open_study(cfg, tune_dir)
    done = counted(study)
    if done:
        print(f"Study {storage_url(cfg, tune_dir)}: {done} of {cfg.tune_trials} trials already counted.")
    objective = Objective(cfg, space, tune_dir)
    while counted(study) < cfg.tune_trials:
        try:
            study.optimize(objective, n_trials=1, gc_after_trial=True)
        except TrainingInterrupted:  # the trial is recorded as cut off; the same command continues
            raise
        except Exception:  # noqa: BLE001 - recorded as a failed trial by Optuna and the objective
            failed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,))
            if failed and FAILURE_ATTR not in failed[-1].user_attrs:
                raise  # not a trial's failure: a bug or the storage
    return study
