"""Cases on real training: tfft vs the usual pad-to-max pipeline, evaluation speed, and the
input pipeline's speed against training.

The usual pipeline (the Hugging Face TF tutorials' recipe): tokenize every text padded to
``max_length``, pass the NumPy dict to ``fit``. Both sides train the same pretrained model
from the same weights with AdamW on the same schedule, one epoch each in turn: tf-keras'
AdamW on the usual side, tfft's one-kernel AdamW (the same update) on tfft's. The usual
side runs in a process of its own with TensorFlow's default CPU allocator, as it runs
without tfft (:mod:`benchmarks.worker`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from benchmarks import workloads as wl
from benchmarks.harness import Measure, Result, fit_epoch, interleaved_epochs
from benchmarks.worker import Worker


MALLOC = {"TF_CPU_ALLOCATOR_USE_BFC": "false"}  # TensorFlow's default CPU allocator, as without tfft


def _workers(cfg: Any, sizes: wl.Sizes, n: int) -> dict[str, Worker]:
    """The usual pipeline and tfft, each in a process with TensorFlow's default allocator."""
    usual = {"model_dir": cfg.model, "train_file": cfg.train_file, "heldout_file": cfg.validation_file,
             "max_length": sizes.max_length, "batch": sizes.batch, "seed": cfg.seed,
             "learning_rate": cfg.learning_rate, "weight_decay": cfg.weight_decay, "warmup_ratio": cfg.warmup_ratio,
             "steps": (sizes.repeats + 1) * -(-n // sizes.batch)}
    return {"usual": Worker("usual", usual, MALLOC), "tfft, malloc": Worker("tfft", cfg.to_dict(), MALLOC)}


def run(sizes: wl.Sizes, root: str, shared: dict[str, Any]) -> list[Result]:
    """``train_speedup_vs_pad_to_max``, ``eval_speedup``, ``cpu_allocator_speedup``; leaves tfft's
    training rate in ``shared``."""
    from transformers import AutoTokenizer

    import tfft
    from tfft.api import outputs
    from tfft.data.prepare import prepare

    model_dir = wl.model_dir(sizes, root)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    median = wl.MEDIAN_TOKENS if not sizes.quick else 24
    words = wl.filler_words(tokenizer)
    train_rows = wl.reviews(sizes.train_examples, words, median, seed=1)
    held_rows = wl.reviews(sizes.heldout_examples, words, median, seed=2)
    data = wl.fresh_dir(os.path.join(root, "train-data"))
    cfg = wl.config(root, model_dir, wl.write_csv(f"{data}/train.csv", train_rows),
                    wl.write_csv(f"{data}/heldout.csv", held_rows), sizes, epochs=sizes.repeats + 1,
                    learning_rate=1e-4)
    train_ds, _ = tfft.datasets(cfg)
    ours = tfft.build_model(cfg)
    n = len(train_rows)
    held = prepare(cfg).features["validation"]
    workers = _workers(cfg, sizes, n)
    try:
        # evaluation runs in the same rotation as training, so every side sees the same machine
        rates = interleaved_epochs({"tfft": fit_epoch(ours, train_ds), **{k: w.epoch for k, w in workers.items()},
                                    "eval": lambda epoch: outputs(ours, cfg, held)},
                                   {"tfft": n, "usual": n, "tfft, malloc": n, "eval": len(held)}, sizes.repeats)
        usual_accuracy = workers["usual"].accuracy()
    finally:
        for worker in workers.values():
            worker.close()
    tfft_accuracy = tfft.evaluate(ours, cfg, "validation")["accuracy"]
    lengths = prepare(cfg).features["train"].lengths()
    shared["tfft_train_rate"] = rates["tfft"]
    speed = Result("train_speedup_vs_pad_to_max", Measure("tfft", "examples/s", rates["tfft"]),
                   Measure(f"pad to {sizes.max_length}", "examples/s", rates["usual"]), target=2.5,
                   notes={"held-out accuracy": f"tfft {tfft_accuracy:.3f}, pad-to-max {usual_accuracy:.3f} "
                                               f"after {sizes.repeats + 1} epochs of {n} examples "
                                               f"({len(held_rows)} held out)",
                          "optimizer": "AdamW, same schedule: tf-keras' on the usual side, tfft's one-kernel "
                                       "update on tfft's",
                          "process": "the usual side in its own process with TensorFlow's default CPU allocator "
                                     "(as without tfft); tfft with its pooling allocator",
                          "tokens": f"median {int(np.median(lengths))}, {np.mean(lengths >= sizes.max_length):.0%} "
                                    f"truncated at {sizes.max_length}, batch {sizes.batch}, "
                                    f"{cfg.length_buckets} length buckets"})
    evaluation = Result("eval_speedup", Measure("tfft evaluation", "examples/s", rates["eval"]),
                        Measure("tfft training", "examples/s", rates["tfft"]), target=2.0,
                        notes={"what": f"predict over held-out examples (up to {cfg.eval_batch_size} a batch, "
                                       "planned by padding) vs training"})
    allocator = Result("cpu_allocator_speedup", Measure("pooling allocator (tfft)", "examples/s", rates["tfft"]),
                       Measure("TF_CPU_ALLOCATOR_USE_BFC=false", "examples/s", rates["tfft, malloc"]),
                       notes={"what": "the same tfft training epochs with TensorFlow's pooling CPU allocator vs its "
                                      "default (malloc, in a process of its own)"})
    return [speed, evaluation, allocator]
