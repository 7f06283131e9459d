"""--mode=tune on Optuna and --mode=lr_find: the search space, trials on the tiny model, pruning,
resuming a killed tune, best.flags and the learning-rate range test."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import tfft
from conftest import ROOT
from tfft.tuning.space import parse_space


@pytest.mark.parametrize("space, says", [
    ("learning_rate", "part 'learning_rate' is not name=spec"),
    ("learning_rate=1e-5:1e-3:log,", "part '' is not name=spec"),
    ("lerning_rate=1e-5:1e-3", "did you mean 'learning_rate'"),
    ("learning_rate=1e-3:1e-5", "is an empty range"),
    ("epochs=3:3", "is an empty range"),
    ("learning_rate=0:1e-3:log", "a log range needs low > 0"),
    ("learning_rate=1e-5:1e-3:lin", "the third part can only be 'log'"),
    ("epochs=1.5:3", "epochs takes a whole number"),
    ("batch_size=16|x", "batch_size takes a whole number"),
    ("finetune=full|partly", "finetune is one of full, frozen, adapter, lora"),
    ("finetune=1:2", "finetune is a choice, not a number"),
    ("task=imdb|sst2", "'task', which cannot be tuned"),
    ("seed=1:9", "'seed', which cannot be tuned"),
    ("epochs=1:2,epochs=2:3", "names 'epochs' twice"),
    ("space.yaml", "file 'space.yaml' does not exist"),
])
def test_every_bad_space_is_a_one_line_error_naming_the_part(space, says):
    with pytest.raises(tfft.TfftError) as err:
        parse_space(space)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_space_forms_inline_and_from_a_yaml_file(tmp_path):
    params = {p.name: p for p in parse_space("learning_rate=1e-5:1e-3:log,batch_size=16|32,epochs=2:4,"
                                             "warmup_ratio=0:0.2,finetune=full|lora")}
    assert (params["learning_rate"].low, params["learning_rate"].high, params["learning_rate"].log) == (1e-5, 1e-3, True)
    assert params["batch_size"].choices == (16, 32) and params["epochs"].kind is int
    assert params["warmup_ratio"].kind is float and params["finetune"].choices == ("full", "lora")
    path = tmp_path / "space.yaml"
    path.write_text("learning_rate: {low: 1.0e-5, high: 1.0e-3, log: true}\nbatch_size: [16, 32]\n")
    from_file = {p.name: p for p in parse_space(str(path))}
    assert from_file["learning_rate"] == params["learning_rate"] and from_file["batch_size"] == params["batch_size"]
    from tfft.tuning import inline_space  # tfft.tune(cfg, {...}) takes the file's form as a dict

    as_dict = parse_space(inline_space({"learning_rate": {"low": 1e-5, "high": 1e-3, "log": True},
                                        "batch_size": [16, 32]}))
    assert as_dict == [params["learning_rate"], params["batch_size"]]


def _tune_config(tiny_config, **overrides):
    values = dict(mode="tune", epochs=6, tune_pruner="none", tune_trials=4)
    values.update(overrides)
    return tiny_config(**values)


def test_best_flags_round_trip_into_the_same_config(tiny_config, tmp_path):
    from tfft import flags as tfft_flags
    from tfft.tuning.objective import trial_config
    from tfft.tuning.outputs import write_best_flags

    base = _tune_config(tiny_config, tune_space="learning_rate=1e-5:1e-2:log", label_names=("negative", "positive"))
    best = trial_config(base, {"learning_rate": 0.0072510315969, "batch_size": 32, "finetune": "lora",
                               "warmup_ratio": 0.0}, str(tmp_path / "best"))
    path = write_best_flags(best, str(tmp_path / "best.flags"), "trial 3")
    tfft_flags.define_flags()
    try:
        tfft_flags.FLAGS(["tfft", f"--flagfile={path}"])
        again = tfft_flags.config_from_flags()
    finally:
        tfft_flags.FLAGS.unparse_flags()
    assert again == best and again.mode == "train" and again.output_dir == str(tmp_path / "best")
    assert again.epochs == 6 and again.learning_rate == 0.0072510315969


def test_a_failed_trial_is_recorded_with_its_reason_and_the_study_goes_on(tiny_config, monkeypatch, capsys):
    import tfft.runner
    from tfft.training.checkpoints import NonFiniteLoss

    def train(cfg, callbacks=(), save=True):  # stands in for training: NaN above lr 1e-3
        if cfg.learning_rate > 1e-3:
            raise NonFiniteLoss(f"the loss became NaN at step 7 (lr {cfg.learning_rate})")
        return {"eval": {"accuracy": 0.5 + cfg.learning_rate * 100}}

    monkeypatch.setattr(tfft.runner, "train", train)
    study = tfft.tune(_tune_config(tiny_config, tune_space="learning_rate=1e-5:1e-2:log", tune_trials=5))
    failed = [t for t in study.trials if t.state.name == "FAIL"]
    assert len(study.trials) == 5 and failed and len(failed) < 5
    assert all(t.user_attrs["failure"].startswith("NonFiniteLoss: the loss became NaN") for t in failed)
    assert study.best_trial.params["learning_rate"] <= 1e-3
    table = capsys.readouterr().out.split("trial  state")[-1]
    assert "fail" in table and "NonFiniteLoss" in table


def test_trials_train_without_the_fused_kernels_whose_traces_outlive_them(tiny_config, monkeypatch):
    import tfft.runner

    seen = []

    def train(cfg, callbacks=(), save=True):  # stands in for training: records what a trial runs with
        seen.append(cfg.fused_ops)
        return {"eval": {"accuracy": 0.5}}

    monkeypatch.setattr(tfft.runner, "train", train)
    cfg = _tune_config(tiny_config, tune_space="learning_rate=1e-5:1e-2:log", tune_trials=2, fused_ops=True)
    tfft.tune(cfg)
    assert seen == [False, False]
    seen.clear()
    tfft.tune(cfg.replace(tune_space="fused_ops=true|false", output_dir=cfg.output_dir + "-b", tune_trials=2))
    assert set(seen) <= {True, False} and len(seen) == 2  # a space that tunes it decides per trial


def test_trials_share_one_data_preparation(tiny_config):
    from tfft.data.prepare import prepare

    cfg = tiny_config()
    assert prepare(cfg) is prepare(cfg.replace(learning_rate=3e-3, batch_size=32, epochs=4, output_dir="elsewhere"))
    assert prepare(cfg) is not prepare(cfg.replace(max_length=16))


@pytest.mark.slow
def test_lr_find_suggests_a_learning_rate_that_trains_and_leaves_nothing_but_its_plot(tiny_config, tmp_path):
    cfg = tiny_config(mode="lr_find", lr_find_steps=100)
    found = tfft.lr_find(cfg)
    assert found["steps"] < 100 and found["suggested_lr"] is not None  # stopped on divergence
    assert 1e-3 <= found["suggested_lr"] <= 3e-2, found["suggested_lr"]  # 6 epochs at 3.8e-4 learn nothing
    assert sorted(os.listdir(tmp_path / "run")) == ["lr_find"] and not (tmp_path / "exports").exists()
    assert sorted(os.listdir(tmp_path / "run" / "lr_find")) == ["lr_find.json", "lr_find.png"]
    train = tiny_config(epochs=6, learning_rate=found["suggested_lr"], output_dir=str(tmp_path / "check"))
    train_ds, val_ds = tfft.datasets(train)
    model = tfft.build_model(train)
    model.fit(train_ds, epochs=train.epochs, verbose=0)
    assert tfft.evaluate(model, train, "validation")["accuracy"] >= 0.85, found["suggested_lr"]


class TestTuneSearch:
    """Run in a pytest-xdist worker of their own (one scope per class)."""

    @pytest.mark.slow
    def test_a_tune_picks_a_trial_in_the_only_learning_range_and_best_flags_round_trip(self, tiny_config, tmp_path):
        cfg = _tune_config(tiny_config, tune_space="learning_rate=1e-7:1e-2:log")
        study = tfft.tune(cfg)
        results, tune_dir = study.results, tmp_path / "run" / "tune"
        lrs = {t.number: t.params["learning_rate"] for t in study.trials}
        assert len(lrs) == 4 and results["best_value"] >= 0.85, (lrs, results)
        assert results["best_params"]["learning_rate"] >= 5e-4, (lrs, results)  # below, 6 epochs learn nothing
        rows = list(csv.DictReader(open(tune_dir / "trials.csv")))
        assert [int(r["trial"]) for r in rows] == [0, 1, 2, 3] and {r["state"] for r in rows} == {"complete"}
        for number in lrs:  # each trial is a training run: results.json, no model, nothing exported
            trial = tune_dir / f"trial-{number:03d}"
            assert json.load(open(trial / "results.json"))["complete"] and not (trial / "model").exists()
        assert not (tmp_path / "exports").exists()
        assert (tune_dir / "history.png").stat().st_size > 0
        assert f"--learning_rate={lrs[results['best_trial']]!r}" in (tune_dir / "best.flags").read_text()

    @pytest.mark.slow
    def test_pruning_stops_a_hopeless_trial_after_its_first_epoch(self, tiny_config, tmp_path):
        from tfft.tuning.study import open_study

        from conftest import keyword_rows, write_csv

        train = write_csv(str(tmp_path / "train-big.csv"), keyword_rows(1280, 5))  # 80 steps: lr 7e-3 learns in one epoch
        cfg = _tune_config(tiny_config, tune_space="learning_rate=1e-8:1e-2:log", tune_pruner="median", tune_trials=2,
                           train_file=train, epochs=2,
                           tune_storage=f"sqlite:///{tmp_path / 'shared.db'}")  # a study made before the tune
        study = open_study(cfg, str(tmp_path))
        study.enqueue_trial({"learning_rate": 7e-3})  # learns
        study.enqueue_trial({"learning_rate": 1e-8})  # cannot: below the first trial's median at epoch 1
        trials = tfft.tune(cfg).trials
        assert [t.state.name for t in trials] == ["COMPLETE", "PRUNED"]
        assert trials[1].user_attrs["pruned_after_epoch"] == 1 and list(trials[1].intermediate_values) == [1]


class TestTuneProcesses:
    """Run in a pytest-xdist worker of their own (one scope per class)."""

    @pytest.mark.slow
    def test_a_killed_tune_continues_with_the_same_command_and_keeps_its_finished_trials(self, tiny_config, tmp_path):
        import optuna

        cfg = _tune_config(tiny_config, tune_space="learning_rate=1e-4:3e-3:log", tune_trials=2, epochs=2)
        flags = ("task", "model", "train_file", "validation_file", "max_length", "batch_size", "epochs", "output_dir",
                 "export_dir", "cache_dir", "seed", "mode", "tune_space", "tune_trials", "tune_pruner")
        flagfile = tmp_path / "tune.flags"
        flagfile.write_text("".join(f"--{k}={cfg.to_dict()[k]}\n" for k in flags))
        command = [sys.executable, "-m", "tfft.main", f"--flagfile={flagfile}"]
        tune_dir = tmp_path / "run" / "tune"
        proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not (tune_dir / "trial-001" / "run_config.json").exists() and proc.poll() is None:
            time.sleep(0.2)  # trial 0 is finished, trial 1 has started
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        finished = (tune_dir / "trial-000" / "results.json").stat().st_mtime_ns
        again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        assert again.returncode == 0, again.stderr[-2000:]
        assert "1 of 2 trials already counted" in again.stdout
        study = optuna.load_study(study_name="tfft", storage=f"sqlite:///{tune_dir / 'study.db'}")
        states = [(t.number, t.state.name, bool(t.user_attrs.get("interrupted"))) for t in study.trials]
        assert states == [(0, "COMPLETE", False), (1, "FAIL", True), (2, "COMPLETE", False)]
        assert (tune_dir / "trial-000" / "results.json").stat().st_mtime_ns == finished  # kept, not trained again
        assert "cut off" in (tune_dir / "trials.csv").read_text()

    @pytest.mark.slow
    def test_two_processes_share_one_study_without_running_a_trial_twice(self, tiny_config, tmp_path):
        import optuna

        storage = f"sqlite:///{tmp_path / 'shared.db'}"
        cfg = _tune_config(tiny_config, tune_space="learning_rate=1e-4:3e-3:log", tune_trials=4, epochs=1,
                           tune_storage=storage)
        flags = ("task", "model", "train_file", "validation_file", "max_length", "batch_size", "epochs", "output_dir",
                 "export_dir", "cache_dir", "seed", "mode", "tune_space", "tune_trials", "tune_pruner", "tune_storage")
        flagfile = tmp_path / "tune.flags"
        flagfile.write_text("".join(f"--{k}={cfg.to_dict()[k]}\n" for k in flags))
        command = [sys.executable, "-m", "tfft.main", f"--flagfile={flagfile}"]
        procs = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for _ in range(2)]
        outputs = [p.communicate()[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [o[-2000:] for o in outputs]
        trials = optuna.load_study(study_name="tfft", storage=storage).trials
        assert sorted(t.number for t in trials) == [0, 1, 2, 3] and {t.state.name for t in trials} == {"COMPLETE"}
        ran = [line for out in outputs for line in out.splitlines() if line.startswith("== Trial ")]
        assert len(ran) == 4 and all(any(f"== Trial {n}:" in line for line in ran) for n in range(4))
        assert all("== Trial " in out for out in outputs)  # both processes worked on the study
