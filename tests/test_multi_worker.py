"""Multi-worker training with two processes on localhost (MultiWorkerMirroredStrategy over TF_CONFIG)."""

import collections
import json
import os
import socket
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow

SHARD_SCRIPT = """
import collections, json, sys
import tfft
from tfft.training.strategy import strategy_for
cfg = tfft.Config.from_dict(json.loads(sys.argv[1]))
strategy = strategy_for(cfg)
train, _ = tfft.datasets(cfg)
rows = []
for x, _ in strategy.experimental_distribute_dataset(train):
    for ids, mask in zip(strategy.experimental_local_results(x["input_ids"]),
                         strategy.experimental_local_results(x["attention_mask"])):
        rows += [" ".join(map(str, r[:int(m.sum())])) for r, m in zip(ids.numpy(), mask.numpy())]
everything = []
for x, _ in train:
    everything += [" ".join(map(str, r[:int(m.sum())])) for r, m in zip(x["input_ids"].numpy(),
                                                                       x["attention_mask"].numpy())]
print(json.dumps({"mine": rows, "all": everything}))
"""


def _ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _run_workers(args_for, timeout=1800):
    """Starts one process per worker with its TF_CONFIG; returns the completed processes."""
    workers = [f"localhost:{p}" for p in _ports(2)]
    procs = []
    for index in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})}
        procs.append(subprocess.Popen([sys.executable, *args_for(index)], cwd=ROOT, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    results = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return results


def _values(tiny_model_dir, keyword_files, tmp_path, **overrides):
    values = dict(task="classification", model=tiny_model_dir, train_file=keyword_files["train"],
                  validation_file=keyword_files["validation"], test_file=keyword_files["test"],
                  max_length=32, batch_size=8, epochs=1, learning_rate=1e-3, strategy="multi_worker",
                  output_dir=str(tmp_path / "run"), export_dir=str(tmp_path / "exports"),
                  cache_dir=str(tmp_path / "cache"), seed=0)
    values.update(overrides)
    return values


def test_each_worker_trains_on_its_own_share_of_every_batch(tiny_model_dir, keyword_files, tmp_path):
    values = json.dumps(_values(tiny_model_dir, keyword_files, tmp_path))
    procs = _run_workers(lambda i: ["-c", SHARD_SCRIPT, values])
    for p in procs:
        assert p.returncode == 0, p.stderr[-3000:]
    seen = [json.loads(p.stdout.strip().splitlines()[-1]) for p in procs]
    everything = collections.Counter(seen[0]["all"])
    assert collections.Counter(seen[1]["all"]) == everything  # both build the same epoch
    assert seen[0]["mine"] and seen[1]["mine"]
    # together the workers see every example exactly once
    assert collections.Counter(seen[0]["mine"]) + collections.Counter(seen[1]["mine"]) == everything


def test_two_workers_train_and_only_the_chief_writes(tiny_model_dir, keyword_files, tmp_path):
    values = _values(tiny_model_dir, keyword_files, tmp_path)
    flags = [f"--{k}={v}" for k, v in values.items()]
    procs = _run_workers(lambda i: ["-m", "tfft.main", *flags])
    for p in procs:
        assert p.returncode == 0, p.stderr[-3000:]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["test"]["accuracy"] >= 0.0 and results["export"].endswith(os.path.join("classification", "1"))
    assert sorted(os.listdir(tmp_path / "exports" / "classification")) == ["1"]  # one export, by the chief
    assert sorted(p for p in os.listdir(tmp_path) if not p.endswith(".csv")) == ["cache", "exports", "run"]
