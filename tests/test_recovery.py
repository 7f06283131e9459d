"""Runs that survive: checkpoints and resume, signals, the NaN guard, atomic exports,
up-front checks and deterministic runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import tfft  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import tensorflow as tf

from conftest import ROOT, keyword_rows, write_csv
from tfft.errors import TfftError


def _latest_step(run_dir) -> int:
    ckpt = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    return -1 if ckpt is None else int(ckpt.rsplit("-", 1)[1])


def _start(flags: dict) -> subprocess.Popen:
    args = [sys.executable, "-m", "tfft.main", *(f"--{k}={v}" for k, v in flags.items())]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT}
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_step(proc: subprocess.Popen, run_dir, at_least: int, timeout: float = 900) -> int:
    """Polls the run's checkpoints until one at ``at_least`` steps or later exists."""
    end = time.time() + timeout
    while time.time() < end and proc.poll() is None:
        step = _latest_step(run_dir)
        if step >= at_least:
            return step
        time.sleep(0.02)
    raise AssertionError(f"no checkpoint at step >= {at_least}: {proc.communicate()[1][-2000:]}")


def _results(run_dir) -> dict:
    with open(os.path.join(run_dir, "results.json"), encoding="utf-8") as f:
        return json.load(f)


def _weights(run_dir) -> list[np.ndarray]:
    from transformers import TFAutoModelForSequenceClassification

    model = TFAutoModelForSequenceClassification.from_pretrained(os.path.join(run_dir, "model"))
    return [w.numpy() for w in model.weights]


@pytest.fixture(scope="module")
def cli_flags(tmp_path_factory, tiny_model_dir):
    """Flags of a deterministic 2-epoch run of ~15 batches per epoch (length-bucketed), checkpointing
    every 3 steps."""
    tmp = tmp_path_factory.mktemp("recovery")
    files = {s: write_csv(str(tmp / f"{s}.csv"), keyword_rows(n, seed))
             for s, n, seed in (("train", 192, 1), ("validation", 32, 2))}

    def flags(name: str) -> dict:
        return dict(task="classification", model=tiny_model_dir, train_file=files["train"],
                    validation_file=files["validation"], max_length=32, batch_size=16, epochs=2,
                    learning_rate=2e-3, output_dir=tmp / name, export_dir=tmp / f"exports-{name}",
                    cache_dir=tmp / "cache", save_steps=3, deterministic="true")

    return flags


@pytest.mark.slow
def test_sigterm_then_sigkill_then_resume_matches_an_uninterrupted_run_bit_for_bit(cli_flags):
    """Also the determinism test: two --deterministic processes (one stopped twice and resumed)
    end with bit-identical weights and metrics, new classification head included."""
    straight = _start(cli_flags("straight"))
    flags = cli_flags("stopped")
    run_dir = flags["output_dir"]
    proc = _start(flags)
    _wait_for_step(proc, run_dir, 3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "interrupted by SIGTERM" in err and "Run the same command again to resume" in err
    stopped_at = _latest_step(run_dir)
    assert stopped_at > 3 and f"ckpt-{stopped_at}" in err  # saved at the next step boundary

    proc = _start(flags)  # resumes; killed outright in the second epoch
    killed_after = _wait_for_step(proc, run_dir, 20)
    proc.kill()
    proc.wait()

    proc = _start(flags)
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    assert "Resuming from" in out
    _, err_straight = straight.communicate(timeout=900)
    assert straight.returncode == 0, err_straight[-3000:]
    resumed = _results(run_dir)
    baseline = _results(cli_flags("straight")["output_dir"])
    steps = baseline["train_steps"]
    assert stopped_at < steps // 2 < killed_after <= resumed["resumed_from_step"] < steps  # both mid-run
    assert resumed["train_steps"] == steps
    assert len(resumed["history"]["loss"]) == 2 and resumed["best_epoch"] == baseline["best_epoch"]
    for a, b in zip(_weights(run_dir), _weights(cli_flags("straight")["output_dir"])):
        assert np.array_equal(a, b)
    assert resumed["eval"] == baseline["eval"] and resumed["history"]["val_loss"] == baseline["history"]["val_loss"]


@pytest.mark.slow
def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tiny_config, monkeypatch):
    from tfft.runner import train
    from tfft.training import optimizer

    schedule = optimizer.WarmupLinearDecay.__call__
    # from the 7th update on the learning rate is NaN: the weights turn NaN, so does the 8th loss
    monkeypatch.setattr(optimizer.WarmupLinearDecay, "__call__",
                        lambda self, step: tf.where(step >= 6, np.nan, schedule(self, step)))
    cfg = tiny_config(save_steps=3, test_file=None)
    with pytest.raises(TfftError, match=r"NaN or infinite at step [78];.*ckpt-6, is kept"):
        train(cfg)
    assert _latest_step(cfg.output_dir) == 6
    reader = tf.train.load_checkpoint(os.path.join(cfg.output_dir, "checkpoints", "ckpt-6"))
    kept = [reader.get_tensor(name) for name, _ in reader.get_variable_to_shape_map().items()
            if name.startswith("model/") and "OPTIMIZER_SLOT" not in name]
    assert kept and all(np.isfinite(np.asarray(v, np.float64)).all() for v in kept if np.asarray(v).dtype.kind == "f")
    assert not os.path.exists(os.path.join(cfg.output_dir, "results.json"))


@pytest.mark.slow
def test_a_failed_export_leaves_no_version_directory(tiny_config, monkeypatch, tmp_path):
    from tfft import api
    from tfft.serving import saved_model

    cfg = tiny_config(mode="export", label_names=("negative", "positive"))
    model = api.build_model(cfg)

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(saved_model, "_write_assets", broken)
    with pytest.raises(OSError, match="disk full"):
        api.export(model, cfg)
    base = os.path.join(cfg.export_dir, cfg.export_name)
    assert os.listdir(base) == []  # neither a version nor the temporary directory


def _fake_checkpoint(cfg) -> None:
    from tfft import rundir

    rundir.claim(cfg)
    tf.train.Checkpoint(v=tf.Variable(1.0)).save(os.path.join(cfg.output_dir, "checkpoints", "ckpt"))


def test_resume_policy_never_and_force(tiny_config):
    from tfft import rundir
    from tfft.training.checkpoints import plan_resume

    assert plan_resume(tiny_config()) == (False, False)  # nothing there yet
    with pytest.raises(TfftError, match="--resume=force but .* has no checkpoint"):
        plan_resume(tiny_config(resume="force"))
    _fake_checkpoint(tiny_config())
    assert plan_resume(tiny_config()) == (True, False)
    assert plan_resume(tiny_config(resume="force", save_steps=9)) == (True, False)  # not part of the identity
    with pytest.raises(TfftError, match="--resume=never but .* holds checkpoints.*--overwrite_output_dir"):
        plan_resume(tiny_config(resume="never"))
    fresh = tiny_config(resume="never", overwrite_output_dir=True)
    assert plan_resume(fresh) == (False, True)
    rundir.claim(fresh, fresh=True)  # the old run, checkpoints and all, is moved aside, not deleted
    assert os.listdir(fresh.output_dir) == ["run_config.json"]
    aside = [p for p in os.listdir(os.path.dirname(fresh.output_dir)) if p.startswith("run.replaced-")]
    assert len(aside) == 1 and plan_resume(fresh) == (False, False)
    _fake_checkpoint(tiny_config())
    with pytest.raises(TfftError, match="checkpoints of a different config"):
        plan_resume(tiny_config(resume="force", epochs=5))


def test_up_front_checks_refuse_a_full_disk_and_a_file_as_export_dir(tiny_config, tiny_model_dir, monkeypatch,
                                                                      tmp_path):
    import shutil

    from tfft import preflight

    cfg = tiny_config()
    preflight.check_disk(cfg, tiny_model_dir)  # the real disk has room for a 2-layer model
    weights = preflight.weight_bytes(tiny_model_dir)
    assert weights > 0
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**12, 10**12, weights))
    with pytest.raises(TfftError, match=r"Not enough free disk .* MB are free"):
        preflight.check_disk(cfg, tiny_model_dir)
    monkeypatch.undo()
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(TfftError, match="--export_dir .* is a file"):
        preflight.check_destinations(tiny_config(export_dir=str(tmp_path / "a_file")))
    with pytest.raises(TfftError, match="--output_dir .* is a file, not a directory"):
        preflight.check_destinations(tiny_config(output_dir=str(tmp_path / "a_file")))
    with pytest.raises(TfftError, match="--output_dir .* cannot be created"):
        preflight.check_destinations(tiny_config(output_dir=str(tmp_path / "a_file" / "run")))


def test_best_epoch_tracking_survives_a_resume():
    from tfft.training.callbacks import EvaluateAndKeepBest

    first = EvaluateAndKeepBest(None, "accuracy", patience=2, epochs=4, restore_at_end=False)
    first.set_model(tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)]))
    for epoch, value in enumerate([0.6, 0.8, 0.7]):
        first.on_epoch_end(epoch, {"val_accuracy": value})
    second = EvaluateAndKeepBest(None, "accuracy", patience=2, epochs=4, restore_at_end=False)
    second.set_model(first.model)
    second.load_state(json.loads(json.dumps(first.state())), first.best_weights)
    second.on_epoch_end(3, {"val_accuracy": 0.75})
    assert second.best_epoch == 1 and second.out_of_patience  # two epochs without beating 0.8


@pytest.mark.slow
def test_restored_state_continues_exactly_like_the_original(tiny_config):
    from tfft import api
    from tfft.training.callbacks import EvaluateAndKeepBest
    from tfft.training.checkpoints import RunState

    cfg = tiny_config(batch_size=8, max_train_samples=32, length_buckets=0)
    batches = list(api.epoch_dataset(cfg, 0).take(3))

    def state_of(model):
        keeper = EvaluateAndKeepBest(None, "loss", restore_at_end=False)
        keeper.set_model(model)
        return RunState(model, keeper, cfg)

    original = api.build_model(cfg)
    saved = state_of(original)
    for x, y in batches[:2]:
        original.train_on_batch(x, y)
    saved.save(0, 2)
    original.train_on_batch(*batches[2])

    restored = api.build_model(cfg)
    state = state_of(restored)
    assert state.restore() == (0, 2) and state.step == 2
    restored.train_on_batch(*batches[2])  # AdamW moments and the schedule's step came back too
    for a, b in zip(original.get_weights(), restored.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.slow
def test_a_background_checkpoint_holds_the_weights_of_its_save_once_settled(tiny_config):
    import threading

    from tfft import api
    from tfft.training import checkpoints
    from tfft.training.callbacks import EvaluateAndKeepBest

    cfg = tiny_config(batch_size=8, max_train_samples=16)
    model = api.build_model(cfg)
    keeper = EvaluateAndKeepBest(None, "loss", restore_at_end=False)
    keeper.set_model(model)
    state = checkpoints.RunState(model, keeper, cfg)
    assert state.options is not None  # one replica: the write goes to a background thread
    variable = model.trainable_variables[0]
    saved = variable.numpy().copy()
    threads = threading.active_count()
    path = state.save(0, 3)
    variable.assign(saved + 1.0)  # training goes on while the write runs
    checkpoints.settle()
    assert threading.active_count() == threads  # the writer thread (and its host copy) is released
    assert checkpoints.latest_checkpoint(cfg) == path
    reader = tf.train.load_checkpoint(path)
    keys = [k for k, _ in tf.train.list_variables(path) if k.startswith("model/") and "OPTIMIZER" not in k]
    values = [reader.get_tensor(k) for k in keys]
    assert any(v.shape == saved.shape and np.array_equal(v, saved) for v in values)
    assert not any(v.shape == saved.shape and np.array_equal(v, saved + 1.0) for v in values)


def test_exit_now_flushes_the_console_and_keeps_the_exit_code():
    import subprocess
    import sys

    code = ("import sys; from tfft.main import exit_now; print('out', end=''); "
            "print('err', end='', file=sys.stderr); exit_now({})")
    for given, status in (("3", 3), ("None", 0), ("'error: bad flag'", 1)):
        proc = subprocess.run([sys.executable, "-c", code.format(given)], capture_output=True, text=True)
        assert proc.returncode == status and proc.stdout == "out", (given, proc.returncode, proc.stdout)
        assert proc.stderr.startswith("err") and ("bad flag" in proc.stderr) == (status == 1), proc.stderr


@pytest.mark.slow
def test_a_run_that_fails_after_training_leaves_its_last_checkpoint_whole(tiny_config, monkeypatch):
    import tfft
    from tfft.serving import saved_model
    from tfft.training import checkpoints

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(saved_model, "export_run", broken)
    cfg = tiny_config(epochs=1, max_train_samples=32, score_untrained="false", tensorboard=False)
    with pytest.raises(OSError, match="disk full"):
        tfft.run(cfg)
    assert checkpoints._IN_FLIGHT == []  # tfft.run waited for the background write before raising
    latest = checkpoints.latest_checkpoint(cfg)
    assert latest is not None and tf.train.load_checkpoint(latest).get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE") == 1
