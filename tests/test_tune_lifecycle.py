"""--mode=tune beyond one clean study: stopped by SIGTERM / Ctrl-C and continued, failed trials
(out of memory, an error, a NaN loss), successive-halving pruning and --tune_export_best."""

import csv
import json
import os
import signal
import subprocess
import sys

import pytest
import tensorflow as tf

import tfft
from conftest import ROOT, keyword_rows, serve_export, write_csv

FLAGS = ("task", "model", "train_file", "validation_file", "max_length", "batch_size", "epochs", "output_dir",
         "export_dir", "cache_dir", "seed", "mode", "tune_space", "tune_trials", "tune_pruner", "tune_storage")


def _tune_config(tiny_config, **overrides):
    values = dict(mode="tune", epochs=1, tune_pruner="none", tune_trials=3)
    values.update(overrides)
    return tiny_config(**values)


def _states(study):
    return [(t.number, t.state.name, bool(t.user_attrs.get("interrupted"))) for t in study.trials]


class _Fault(tf.keras.callbacks.Callback):
    """Breaks a trial at its third batch: raises ``fault``, or makes the weights NaN."""

    def __init__(self, fault):
        super().__init__()
        self.fault = fault

    def on_train_batch_begin(self, batch, logs=None):
        if batch != 2:
            return
        if self.fault == "nan":  # the loss of this batch is NaN: the trainer's guard stops the trial
            for weight in self.model.trainable_weights:
                weight.assign(weight * float("nan"))
        else:
            raise self.fault


class TestTuneSignals:
    """Run in a pytest-xdist worker of their own (one scope per class)."""

    @pytest.mark.slow
    @pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
    def test_a_tune_stopped_mid_trial_by_a_signal_continues_with_the_same_command(self, tiny_config, tmp_path, signum):
        import optuna

        from tfft.tuning.study import open_study

        storage = f"sqlite:///{tmp_path / 'study.db'}"
        cfg = _tune_config(tiny_config, tune_space="learning_rate=1e-3:1e-2:log,epochs=1:50", tune_storage=storage)
        study = open_study(cfg, str(tmp_path))
        for epochs in (1, 50, 1, 1):  # trial 1 trains long enough to be stopped in the middle
            study.enqueue_trial({"learning_rate": 3e-3, "epochs": epochs})
        flagfile = tmp_path / "tune.flags"
        flagfile.write_text("".join(f"--{k}={cfg.to_dict()[k]}\n" for k in FLAGS))
        command = [sys.executable, "-m", "tfft.main", f"--flagfile={flagfile}"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        seen = []
        for line in proc.stdout:  # trial 0 is finished and trial 1 has trained an epoch of its 50
            seen.append(line)
            if line.startswith("Epoch 1/50"):
                proc.send_signal(signum)
                break
        seen.append(proc.communicate()[0])
        assert proc.returncode == 128 + signum, "".join(seen)[-3000:]  # stopped at a step, not killed
        assert f"interrupted by {signal.Signals(signum).name}" in "".join(seen)
        finished = (tmp_path / "run" / "tune" / "trial-000" / "results.json").stat().st_mtime_ns
        again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert again.returncode == 0, again.stdout[-3000:]
        assert "1 of 3 trials already counted" in again.stdout
        study = optuna.load_study(study_name="tfft", storage=storage)
        assert _states(study) == [(0, "COMPLETE", False), (1, "FAIL", True), (2, "COMPLETE", False),
                                  (3, "COMPLETE", False)]  # the cut-off trial is not counted: two more ran
        assert (tmp_path / "run" / "tune" / "trial-000" / "results.json").stat().st_mtime_ns == finished
        rows = list(csv.DictReader(open(tmp_path / "run" / "tune" / "trials.csv")))
        assert [r["note"] for r in rows] == ["", "cut off", "", ""]


class TestTuneFailuresAndExport:
    """Run in a pytest-xdist worker of their own (one scope per class)."""

    @pytest.mark.slow
    def test_trials_that_run_out_of_memory_raise_or_diverge_are_failed_with_their_reason(self, tiny_config, monkeypatch):
        import tfft.runner

        faults = {0: tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[16,32,64]"),
                  1: RuntimeError("the data server went away"), 2: "nan"}
        real = tfft.runner.train

        def train(cfg, callbacks=(), save=True):  # the real training run, broken inside fit for trials 0-2
            number = int(os.path.basename(cfg.output_dir).split("-")[1])
            return real(cfg, callbacks=[*callbacks, *([_Fault(faults[number])] if number in faults else [])], save=save)

        monkeypatch.setattr(tfft.runner, "train", train)
        study = tfft.tune(_tune_config(tiny_config, tune_space="learning_rate=3e-3:1e-2:log", tune_trials=4))
        assert [t.state.name for t in study.trials] == ["FAIL", "FAIL", "FAIL", "COMPLETE"]
        reasons = [t.user_attrs["failure"] for t in study.trials[:3]]
        assert reasons[0] == "ResourceExhaustedError: OOM when allocating tensor with shape[16,32,64]"
        assert reasons[1] == "RuntimeError: the data server went away"
        assert reasons[2].startswith("NonFiniteLoss: Training stopped: the loss (nan) became NaN"), reasons[2]
        assert study.results["best_trial"] == 3 and study.results["best_value"] >= 0.0, study.results  # finite
        notes = [r["note"] for r in csv.DictReader(open(study.results["trials_csv"]))]
        assert notes == [*reasons, ""]

    @pytest.mark.slow
    def test_successive_halving_prunes_a_hopeless_trial_after_its_first_epoch(self, tiny_config, tmp_path):
        from tfft.tuning.study import open_study

        train = write_csv(str(tmp_path / "train-big.csv"), keyword_rows(1280, 5))  # 80 steps: lr 7e-3 learns in one epoch
        cfg = _tune_config(tiny_config, tune_space="learning_rate=1e-8:1e-2:log", tune_pruner="halving", tune_trials=2,
                           train_file=train, epochs=2, tune_storage=f"sqlite:///{tmp_path / 'shared.db'}")
        study = open_study(cfg, str(tmp_path))
        study.enqueue_trial({"learning_rate": 7e-3})  # learns: promoted at every rung
        study.enqueue_trial({"learning_rate": 1e-8})  # cannot: not in the top third at the epoch-1 rung
        trials = tfft.tune(cfg).trials
        assert [t.state.name for t in trials] == ["COMPLETE", "PRUNED"]
        assert trials[0].intermediate_values[1] >= 0.85, trials[0].intermediate_values
        assert trials[1].user_attrs["pruned_after_epoch"] == 1 and list(trials[1].intermediate_values) == [1]

    @pytest.mark.slow
    def test_export_best_retrains_the_best_trial_and_exports_a_working_signature(self, tiny_config, tmp_path):
        from tfft.tuning.study import open_study

        cfg = _tune_config(tiny_config, tune_space="learning_rate=1e-6:1e-2:log", tune_trials=2, epochs=3,
                           tune_export_best=True, export_name="sentiment", label_names=("negative", "positive"),
                           tune_storage=f"sqlite:///{tmp_path / 'shared.db'}")
        study = open_study(cfg, str(tmp_path))
        study.enqueue_trial({"learning_rate": 1e-6})  # learns nothing
        study.enqueue_trial({"learning_rate": 5e-3})  # the best
        results = tfft.tune(cfg).results
        assert results["best_trial"] == 1 and results["best_value"] >= 0.85, results
        version = results["best_run"]
        assert os.path.dirname(version) == str(tmp_path / "exports" / "sentiment"), version
        best = json.load(open(tmp_path / "run" / "tune" / "best" / "results.json"))
        assert best["complete"] and best["export"] == version and best["eval"]["accuracy"] >= 0.85, best
        assert json.load(open(tmp_path / "run" / "tune" / "best" / "run_config.json"))["learning_rate"] == 5e-3
        texts = ["a great and wonderful film", "the movie was awful and boring", "superb lovely story"]
        served = serve_export(version, texts)
        assert [max(range(2), key=p.__getitem__) for p in served["probabilities"]] == [1, 0, 1], served
