"""Fine-tuning modes against full fine-tuning on the same model and data: training speed,
the training step's extra memory, and frozen training with vs without cached features.

Speed: one epoch of each mode in turn (``interleaved_epochs``), examples/s. Memory: each
mode trains in a fresh process (``python -m benchmarks.cases_modes <json>``), which reports
its peak RSS during one epoch minus its RSS once the model is built: what the training steps add (gradients,
optimizer slots, activations kept for the backward pass), without TensorFlow's own
footprint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from benchmarks import workloads as wl
from benchmarks.harness import Measure, Result, fit_epoch, interleaved_epochs

MODES = ("frozen", "adapter", "lora")


def _status_mb(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last reset) of this process, in MB."""
    with open("/proc/self/status", encoding="utf-8") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024  # kB


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w", encoding="utf-8") as f:
        f.write("5")  # Linux >= 4.0: VmHWM restarts from the current RSS


def train_memory(values: dict[str, Any]) -> float:
    """MB the training steps add to the process's RSS (run in a fresh process)."""
    import tfft

    cfg = tfft.Config.from_dict(values)
    train_ds, _ = tfft.datasets(cfg)
    model = tfft.build_model(cfg)
    _reset_peak()
    before = _status_mb("VmRSS")
    model.fit(train_ds, epochs=1, verbose=0)
    return _status_mb("VmHWM") - before


def _memory_in_fresh_process(cfg: Any, mode: str) -> float:
    values = {**cfg.to_dict(), "finetune": mode, "epochs": 1}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.cases_modes", json.dumps(values)], capture_output=True,
                          text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"memory run of --finetune={mode} failed: {proc.stderr[-2000:]}")
    return float(proc.stdout.strip().splitlines()[-1])


def _cached_head_epoch(model: Any, cfg: Any, train_ds: Any) -> Any:
    """One epoch of the head on cached features, as ``--cache_features`` trains it."""
    from tfft.api import global_batch
    from tfft.training.cached import cached_dataset, head_model, head_split

    extract, layers = head_split(model.hf_model, model.info.extras.get("pooling"))
    cached = cached_dataset(extract, train_ds, global_batch(cfg, cfg.batch_size), shuffle_seed=cfg.seed)
    head = head_model(model, layers, int(cached.element_spec[0].shape[-1]))
    head.compile(optimizer=model.optimizer, loss=model.loss)
    return fit_epoch(head, cached)


def run(sizes: wl.Sizes, root: str, shared: dict[str, Any]) -> list[Result]:
    """``<mode>_speedup_vs_full``, ``<mode>_train_memory_vs_full``, ``cached_features_speedup``."""
    import tfft

    model_dir = wl.model_dir(sizes, root)
    from transformers import AutoTokenizer

    words = wl.filler_words(AutoTokenizer.from_pretrained(model_dir))
    median = wl.MEDIAN_TOKENS if not sizes.quick else 24
    data = wl.fresh_dir(os.path.join(root, "modes-data"))
    train = wl.write_csv(f"{data}/train.csv", wl.reviews(sizes.train_examples, words, median, seed=1))
    cfg = wl.config(root, model_dir, train, None, sizes, epochs=sizes.repeats + 1, learning_rate=1e-4)
    train_ds, _ = tfft.datasets(cfg)
    models = {mode: tfft.build_model(cfg.replace(finetune=mode)) for mode in ("full",) + MODES}
    runs = {mode: fit_epoch(model, train_ds) for mode, model in models.items()}
    runs["frozen, cached features"] = _cached_head_epoch(models["frozen"], cfg, train_ds)
    n = sizes.train_examples
    rates = interleaved_epochs(runs, {label: n for label in runs}, sizes.repeats)
    results = []
    for mode in MODES:
        trainable, total = (int(sum(w.shape.num_elements() for w in weights))
                            for weights in (models[mode].trainable_weights, models[mode].weights))
        results.append(Result(f"{mode}_speedup_vs_full", Measure(mode, "examples/s", rates[mode]),
                              Measure("full", "examples/s", rates["full"]),
                              notes={"trainable": f"{trainable:,} of the mode's {total:,} parameters"}))
    memory = {mode: _memory_in_fresh_process(cfg, mode) for mode in ("full",) + MODES}
    for mode in MODES:
        results.append(Result(f"{mode}_train_memory_vs_full", Measure("full", "MB", [memory["full"]]),
                              Measure(mode, "MB", [memory[mode]]),
                              notes={"what": "peak RSS during one epoch minus RSS after building the model; ratio "
                                             "> 1: the mode needs less"}))
    results.append(Result("cached_features_speedup", Measure("frozen, cached features", "examples/s",
                                                             rates["frozen, cached features"]),
                          Measure("frozen", "examples/s", rates["frozen"]), target=10.0,
                          notes={"what": "epoch of the head on features computed once vs epoch of the frozen "
                                         "model (backbone forward every step)"}))
    return results


if __name__ == "__main__":
    print(train_memory(json.loads(sys.argv[1])))
