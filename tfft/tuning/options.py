"""The flags of ``--mode=tune`` and ``--mode=lr_find`` (light: no TensorFlow, no Optuna)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from tfft.options import opt

PRUNERS = ("median", "halving", "none")


@dataclass(frozen=True, kw_only=True)
class TuneOptions:
    """Hyperparameter search (--mode=tune) and the learning-rate range test (--mode=lr_find)."""

    tune_space: Optional[str] = opt(None, "--mode=tune: the search space, e.g. 'learning_rate=1e-5:1e-3:log,"
                                          "batch_size=16|32,epochs=2:4' (lo:hi[:log] or a|b|c), or a JSON/YAML "
                                          "file of {field: spec}.")
    tune_trials: int = opt(20, "--mode=tune: trials the study should have (a resumed study runs only the rest).")
    tune_pruner: str = opt("median", "--mode=tune: stop hopeless trials after an epoch: median | halving "
                                     "(successive halving) | none.", choices=PRUNERS)
    tune_storage: Optional[str] = opt(None, "--mode=tune: Optuna storage URL shared by many processes or machines "
                                            "(e.g. postgresql://host/db). Default: <output_dir>/tune/study.db.")
    tune_export_best: bool = opt(False, "--mode=tune: afterwards train the best trial's settings again, save "
                                        "and export them.")
    lr_find_steps: int = opt(100, "--mode=lr_find: steps of the exponential learning-rate ramp (1e-7 to 10).")

    def _check_tune(self) -> None:
        from tfft.errors import TfftError
        from tfft.options import _check_choice, _check_positive

        _check_choice("tune_pruner", self.tune_pruner, PRUNERS)
        _check_positive("tune_trials", self.tune_trials)
        _check_positive("lr_find_steps", self.lr_find_steps)
        if getattr(self, "mode") == "tune":
            if not self.tune_space:
                raise TfftError("--mode=tune needs a search space: pass --tune_space='learning_rate=1e-5:1e-3:log' "
                                "(or a JSON/YAML file of them).")
            # its syntax is checked first thing in the tune (tfft.tuning.run_tune), before anything is written
