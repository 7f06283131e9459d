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

import tfft
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


def _wait_for_step(proc: subprocess.Popen, run_dir, at_least: int, timeout: float = 240) -> int:
    """Polls the run's checkpoints until one at ``at_least`` steps or later exists."""
    end = time.time() + timeout
    while time.time() < end and proc.poll() is None:
        step = _latest_step(run_dir)
        if step >= at_least:
            return step
        time.sleep(0.02)
    raise AssertionError(f"no checkpoint at step >= {at_least}: {proc.communicate()[1][-2000:]}")


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
def test_sigterm_then_sigkill_then_resume_matches_an_uninterrupted_run(cli_flags):
    straight = _start(cli_flags("straight"))
    flags = cli_flags("stopped")
    run_dir = flags["output_dir"]
    proc = _start(flags)
    _wait_for_step(proc, run_dir, 3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "interrupted by SIGTERM" in err and "Run the same command again to resume" in err
    stopped_at = _latest_step(run_dir)
    assert stopped_at > 3 and f"ckpt-{stopped_at}" in err  # saved at the next step boundary

    proc = _start(flags)  # resumes; killed outright in the second epoch
    killed_after = _wait_for_step(proc, run_dir, 20)
    proc.kill()
    proc.wait()

    proc = _start(flags)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    assert "Resuming from" in out
    out_straight, err_straight = straight.communicate(timeout=300)
    assert straight.returncode == 0, err_straight[-3000:]
    resumed = json.load(open(os.path.join(run_dir, "results.json")))
    baseline = json.load(open(os.path.join(cli_flags("straight")["output_dir"], "results.json")))
    steps = baseline["train_steps"]
    assert stopped_at < steps // 2 < killed_after <= resumed["resumed_from_step"] < steps  # both mid-run
    assert resumed["train_steps"] == steps
    assert len(resumed["history"]["loss"]) == 2 and resumed["best_epoch"] == baseline["best_epoch"]
    for a, b in zip(_weights(run_dir), _weights(cli_flags("straight")["output_dir"])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert resumed["eval"] == pytest.approx(baseline["eval"], abs=1e-6)
