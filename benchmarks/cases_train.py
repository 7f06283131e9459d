"""Cases on real training: tfft vs the usual pad-to-max pipeline, evaluation speed, and the
input pipeline's speed against training.

The usual pipeline (the Hugging Face TF tutorials' recipe): tokenize every text padded to
``max_length``, pass the NumPy dict to ``fit``. Both sides train the same pretrained model
from the same weights with the same optimizer and schedule, one epoch each in turn.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from benchmarks import workloads as wl
from benchmarks.harness import Measure, Result, fit_epoch, interleaved_epochs


def _usual_model(cfg: Any, model_dir: str, steps: int) -> Any:
    import tensorflow as tf
    from transformers import TFAutoModelForSequenceClassification

    from tfft.models.loading import load_pretrained
    from tfft.training.optimizer import make_optimizer

    tf.keras.utils.set_random_seed(cfg.seed)
    model = load_pretrained(TFAutoModelForSequenceClassification, model_dir, num_labels=2)
    model.compile(optimizer=make_optimizer(cfg.learning_rate, cfg.weight_decay, steps, cfg.warmup_ratio),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def _usual_inputs(tokenizer: Any, rows: list[tuple[str, int]], max_length: int) -> tuple[dict, np.ndarray]:
    enc = tokenizer([t for t, _ in rows], padding="max_length", truncation=True, max_length=max_length,
                    return_tensors="np", return_token_type_ids=False)
    return dict(enc), np.array([y for _, y in rows])


def _usual_accuracy(model: Any, tokenizer: Any, rows: list[tuple[str, int]], sizes: wl.Sizes) -> float:
    x, y = _usual_inputs(tokenizer, rows, sizes.max_length)
    return float(model.evaluate(x, y, batch_size=sizes.batch * 4, verbose=0, return_dict=True)["accuracy"])


def run(sizes: wl.Sizes, root: str, shared: dict[str, Any]) -> list[Result]:
    """``train_speedup_vs_pad_to_max``, ``eval_speedup``; leaves tfft's training rate in ``shared``."""
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
    usual = _usual_model(cfg, model_dir, steps=(sizes.repeats + 1) * -(-len(train_rows) // sizes.batch))
    x, y = _usual_inputs(tokenizer, train_rows, sizes.max_length)
    n = len(train_rows)
    held = prepare(cfg).features["validation"]
    # evaluation runs in the same rotation as training, so both see the same machine
    rates = interleaved_epochs({"tfft": fit_epoch(ours, train_ds),
                                "usual": fit_epoch(usual, x, y=y, batch_size=sizes.batch, shuffle=True),
                                "eval": lambda epoch: outputs(ours, cfg, held)},
                               {"tfft": n, "usual": n, "eval": len(held)}, sizes.repeats)
    tfft_accuracy = tfft.evaluate(ours, cfg, "validation")["accuracy"]
    usual_accuracy = _usual_accuracy(usual, tokenizer, held_rows, sizes)
    lengths = prepare(cfg).features["train"].lengths()
    shared["tfft_train_rate"] = rates["tfft"]
    speed = Result("train_speedup_vs_pad_to_max", Measure("tfft", "examples/s", rates["tfft"]),
                   Measure(f"pad to {sizes.max_length}", "examples/s", rates["usual"]), target=2.5,
                   notes={"held-out accuracy": f"tfft {tfft_accuracy:.3f}, pad-to-max {usual_accuracy:.3f} "
                                               f"after {sizes.repeats + 1} epochs of {n} examples",
                          "tokens": f"median {int(np.median(lengths))}, {np.mean(lengths >= sizes.max_length):.0%} "
                                    f"truncated at {sizes.max_length}, batch {sizes.batch}, "
                                    f"{cfg.length_buckets} length buckets"})
    evaluation = Result("eval_speedup", Measure("tfft evaluation", "examples/s", rates["eval"]),
                        Measure("tfft training", "examples/s", rates["tfft"]), target=2.0,
                        notes={"what": f"predict over held-out examples (batch {cfg.eval_batch_size}) vs training"})
    return [speed, evaluation]
