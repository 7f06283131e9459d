"""One trial of ``--mode=tune``: a normal tfft training run in ``<tune dir>/trial-NNN/``.

A trial writes its results.json (and curves) but no model and no export; its data is the
base run's preparation, shared in memory (see :data:`tfft.data.prepare.TRAINING_ONLY`).
The per-epoch value of ``--metric_for_best`` goes to the pruner, which may stop it.
"""

from __future__ import annotations

import gc
import math
import os
from typing import Any, Optional

import tensorflow as tf

from tfft.config import Config
from tfft.tuning.outputs import hparams_summary
from tfft.tuning.space import Param
from tfft.training.callbacks import lower_is_better

FAILURE_ATTR = "failure"
INTERRUPTED_ATTR = "interrupted"  # cut off by a stop signal or a killed tune: not counted, run again


def trial_dir(tune_dir: str, number: int) -> str:
    """``<tune dir>/trial-NNN`` (numbers from 0, as Optuna counts)."""
    return os.path.join(tune_dir, f"trial-{number:03d}")


def trial_config(base: Config, params: dict[str, Any], output_dir: str) -> Config:
    """The training config of a trial: ``base`` in train mode with ``params``, writing to
    ``output_dir``; values ``base`` derived (a mode's learning rate) are derived again. The
    tune's own flags go back to their defaults: a trial is a plain training run."""
    import dataclasses

    from tfft.tuning.options import TuneOptions

    tune_flags = {f.name: f.default for f in dataclasses.fields(TuneOptions)}
    return base.replace(**{**tune_flags, "mode": "train", "output_dir": output_dir, **params})


#: Trials train without ``--fused_ops`` (unless the space tunes it). The fused kernels'
#: ``tf.custom_gradient`` traces keep each trial's step graph, and with it a copy of the model's
#: weights and optimizer slots, alive for the life of the process: measured with MiniLM, about
#: 330 MB more per trial (1.8 GB after trial 1, 9.2 GB after 20) with them and flat without.
#: The fused kernels save about 9% of a step; the best trial's retraining
#: (``--tune_export_best``) and ``best.flags`` keep the user's setting.
TRIAL_FUSED_OPS = False


class PruneCallback(tf.keras.callbacks.Callback):
    """Reports ``val_<metric>`` to the Optuna trial after every epoch and stops a hopeless trial."""

    def __init__(self, trial: Any, metric: str) -> None:
        super().__init__()
        self.trial, self.metric = trial, metric

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        import optuna

        value = (logs or {}).get(f"val_{self.metric}", (logs or {}).get(self.metric))
        if value is None or not math.isfinite(float(value)):
            return
        # the step is the epochs trained (from 1): successive halving's first rung (min_resource=1) is
        # then epoch 1; at 0-based steps a trial was first judged after its second epoch
        self.trial.report(float(value), epoch + 1)
        if self.trial.should_prune():
            self.trial.set_user_attr("pruned_after_epoch", epoch + 1)
            raise optuna.TrialPruned(f"{self.metric} {float(value):.4f} after epoch {epoch + 1}")


class Objective:
    """Optuna's objective: samples ``space``, trains a trial, returns its validation ``metric_for_best``."""

    def __init__(self, base: Config, space: list[Param], tune_dir: str) -> None:
        self.base, self.space, self.tune_dir = base, space, tune_dir

    def __call__(self, trial: Any) -> float:
        from tfft.runner import train
        from tfft.training.checkpoints import TrainingInterrupted

        params = {p.name: p.suggest(trial) for p in self.space}
        metric = self.base.metric_for_best
        print(f"\n== Trial {trial.number}: {', '.join(f'{k}={_shown(v)}' for k, v in params.items())}")
        try:
            cfg = trial_config(self.base, params, trial_dir(self.tune_dir, trial.number))
            cfg = cfg.replace(fused_ops=params.get("fused_ops", TRIAL_FUSED_OPS))
            results = train(cfg, callbacks=[PruneCallback(trial, metric)], save=False)
            value = trial_value(results, metric)
        except TrainingInterrupted:
            trial.set_user_attr(INTERRUPTED_ATTR, True)
            raise
        except Exception as err:  # noqa: BLE001 - a failed trial is recorded, the study goes on
            import optuna

            if isinstance(err, optuna.TrialPruned):
                raise
            reason = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:500]
            trial.set_user_attr(FAILURE_ATTR, reason)
            print(f"Trial {trial.number} failed: {reason}")
            raise
        finally:
            tf.keras.backend.clear_session()  # each trial's model and graph are freed before the next
            gc.collect()
        hparams_summary(self.tune_dir, trial.number, params, metric, value)
        return value


def trial_value(results: dict[str, Any], metric: str) -> float:
    """The trial's score: ``metric`` on validation after training (the kept epoch's weights)."""
    from tfft.errors import TfftError

    value = (results.get("eval") or {}).get(metric)
    if value is None:
        history = (results.get("history") or {}).get(f"val_{metric}") or []
        finite = [v for v in history if math.isfinite(v)]
        value = (min if lower_is_better(metric) else max)(finite) if finite else None
    if value is None or not math.isfinite(float(value)):
        raise TfftError(f"the trial has no finite validation {metric} (received {value}); tuning needs "
                        "validation data and a --metric_for_best the task reports.")
    return float(value)


def _shown(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
