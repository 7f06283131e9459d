"""Serving latency on CPU: the raw-text signature against token ids plus Python tokenization.

One classification export (MiniLM; the tiny BERT at quick sizes) is loaded in process as
TF Serving would load it; three ways to answer a request of review texts are timed call
by call, interleaved:

- ``serving_default``: strings in, WordPiece in the graph;
- ``serve_ids`` after the HF fast tokenizer (Python) made padded ids;
- the in-memory Keras model after the same Python tokenization.

Each case's ratio is a latency ratio, other path / raw text (best calls; p50s beside it),
so >= 1 means the raw-text signature is at least as fast; ``serving_text_vs_ids_b32``'s target
0.87 is "raw text within 1.15x of ids + Python tokenization". p99s are in the notes.

``serving_batching_32x1`` is what TF Serving's request batching is worth for the raw-text
signature: 32 requests of one review answered by 32 calls, against the same 32 merged into one
batch-32 call (what the server's batching does with concurrent requests, less its queueing
wait, ``batch_timeout_micros``). Its ratio is the time of the single calls / the merged call.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from benchmarks import workloads as wl
from benchmarks.harness import Measure, Result, interleaved, timed

TEXT_WITHIN = 1.15  # target: raw-text latency at most this many times ids + Python tokenization
MAX_LENGTH = 256
REVIEW_WORDS = 120  # median review length in words (~tokens)


def run(sizes: wl.Sizes, root: str, shared: dict[str, Any]) -> list[Result]:
    """``serving_text_vs_ids_b{1,32}``, ``serving_text_vs_keras_b{1,32}`` and ``serving_batching_32x1``."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the raw-text signature's ops)
    from transformers import AutoTokenizer

    model_dir = wl.model_dir(sizes, root)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rows = wl.reviews(64, wl.filler_words(tokenizer), REVIEW_WORDS, seed=5, cap=400)
    cfg, model, text_fn, ids_fn = exported_classifier(root, "serving", model_dir, rows, sizes)
    texts = [text for text, _ in rows]
    calls = 6 if sizes.quick else 100

    def tokenized(batch: list[str]) -> dict[str, Any]:
        enc = tokenizer(batch, truncation=True, max_length=cfg.max_length, padding=True, return_tensors="np")
        return {k: tf.constant(enc[k].astype(np.int32)) for k in ("input_ids", "attention_mask")}

    results = []
    for batch_size in (1, 32):
        batches = [[texts[(i * batch_size + j) % len(texts)] for j in range(batch_size)] for i in range(calls)]
        paths: dict[str, Callable[[list[str]], Any]] = {
            "raw text": lambda b: text_fn(text=tf.constant(b))["probabilities"].numpy(),
            "ids + Python tokenizer": lambda b: ids_fn(**tokenized(b))["probabilities"].numpy(),
            "Keras + Python tokenizer": lambda b: model(tokenized(b), training=False)["logits"].numpy()}
        timed_calls = calls if sizes.quick or batch_size == 1 else calls // 4
        latency = _interleaved_latencies(paths, batches, timed_calls)
        notes = {"p50 / p99 ms": "; ".join(f"{k} {np.percentile(v, 50):.2f} / {np.percentile(v, 99):.2f}"
                                           for k, v in latency.items()),
                 "what": f"batch {batch_size} of reviews (median {REVIEW_WORDS} words, max_length {cfg.max_length}), "
                         f"{'tiny BERT' if sizes.quick else 'MiniLM-L6'} classification export loaded in process"}
        text = Measure("raw text (serving_default)", "ms", latency["raw text"])
        results.append(Result(f"serving_text_vs_ids_b{batch_size}",
                              Measure("ids + Python tokenizer (serve_ids)", "ms", latency["ids + Python tokenizer"]),
                              text, target=round(1 / TEXT_WITHIN, 2) if batch_size == 32 else None, notes=notes))
        results.append(Result(f"serving_text_vs_keras_b{batch_size}",
                              Measure("Keras call + Python tokenizer", "ms", latency["Keras + Python tokenizer"]),
                              text, notes={"what": notes["what"]}))
    results.append(_batching_case(text_fn, texts[:32], 3 if sizes.quick else 10,
                                  f"{'tiny BERT' if sizes.quick else 'MiniLM-L6'} classification export, "
                                  f"reviews of median {REVIEW_WORDS} words, max_length {cfg.max_length}"))
    return results


def exported_classifier(root: str, name: str, model_dir: str, rows: list, sizes: wl.Sizes) -> tuple:
    """``(config, model, serving_default, serve_ids)``: an untrained classifier on ``model_dir``,
    exported under ``root/name`` and loaded in process."""
    import tensorflow as tf

    import tfft

    data = wl.fresh_dir(os.path.join(root, name))
    cfg = wl.config(root, model_dir, wl.write_csv(f"{data}/train.csv", rows), None, sizes,
                    max_length=min(MAX_LENGTH, sizes.max_length * 4), export_dir=os.path.join(data, "exports"))
    model = tfft.build_model(cfg)
    loaded = tf.saved_model.load(tfft.export(model, cfg))
    return cfg, model, loaded.signatures["serving_default"], loaded.signatures["serve_ids"]


def _batching_case(text_fn: Any, texts: list[str], repeats: int, what: str) -> Result:
    """32 single-review calls of the raw-text signature vs one call on the 32 merged, interleaved."""
    import tensorflow as tf

    def singles() -> float:
        return 1000 * timed(lambda: [text_fn(text=tf.constant([t]))["probabilities"].numpy() for t in texts])

    def merged() -> float:
        return 1000 * timed(lambda: text_fn(text=tf.constant(texts))["probabilities"].numpy())

    singles(), merged()  # warm-up: both batch shapes traced
    a, b = interleaved(singles, merged, repeats)
    return Result(f"serving_batching_{len(texts)}x1", Measure(f"{len(texts)} calls of batch 1", "ms", a),
                  Measure(f"one merged batch-{len(texts)} call", "ms", b),
                  notes={"what": f"raw-text serving_default, {what}; in process, without the server's "
                                 "batch_timeout_micros wait (1 ms in the CPU recipe)"})


def _interleaved_latencies(paths: dict[str, Callable[[list[str]], Any]], batches: list[list[str]],
                           calls: int) -> dict[str, list[float]]:
    """Milliseconds per call of each path, one call of each in turn after one untimed warm-up call."""
    for fn in paths.values():
        fn(batches[0])
    latency: dict[str, list[float]] = {name: [] for name in paths}
    for batch in batches[:calls]:
        for name, fn in paths.items():
            latency[name].append(1000 * timed(lambda: fn(batch)))
    return latency
