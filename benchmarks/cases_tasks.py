"""Cases on task-specific work: SQuAD-sized QA feature preparation (memory and speed) and
T5 beam search compiled with XLA against Hugging Face's eager ``generate``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import numpy as np

from benchmarks import workloads as wl
from benchmarks.harness import Measure, Result, interleaved, timed

RSS_BUDGET_MB = 4096.0
T5_SHAPES = {
    "tiny": {"d_model": 128, "d_ff": 256, "d_kv": 32, "num_heads": 4, "num_layers": 2, "num_decoder_layers": 2,
             "relative_attention_num_buckets": 16, "vocab_size": 1000},
    "t5-small": {"d_model": 512, "d_ff": 2048, "d_kv": 64, "num_heads": 8, "num_layers": 6, "num_decoder_layers": 6,
                 "relative_attention_num_buckets": 32, "vocab_size": 32128},
}


def run(sizes: wl.Sizes, root: str, shared: dict[str, Any]) -> list[Result]:
    """``qa_features_88k``, ``qa_features_vs_tokenizer`` and ``generate_xla_vs_eager_*``."""
    results = qa_features(sizes, root)
    for shape in ("tiny",) if sizes.quick else ("tiny", "t5-small"):
        results.append(generation(shape, sizes))
    return results


def qa_features(sizes: wl.Sizes, root: str) -> list[Result]:
    """Runs ``benchmarks.qa_features_memory`` in a fresh process, so its peak RSS is its own."""
    questions = 2000 if sizes.quick else 88_000
    project = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.qa_features_memory", f"--questions={questions}",
                           f"--model={wl.model_dir(sizes, root)}"], capture_output=True, text=True, cwd=project,
                          check=True)
    m = json.loads(proc.stdout.strip().splitlines()[-1])
    notes = {"what": f"{m['questions']:,} synthetic SQuAD-shaped questions -> {m['windows']:,} windows of up to "
                     f"384 tokens (doc_stride 128), MiniLM tokenizer, fresh process",
             "sizes": f"features {m['features_mb']} MB, examples table {m['examples_table_mb']} MB, "
                      f"peak RSS before preparing {m['peak_rss_before_mb']} MB (TensorFlow and tokenizer loaded)"}
    return [
        Result("qa_features_88k", Measure("memory budget", "MB", [RSS_BUDGET_MB]),
               Measure("peak RSS", "MB", [m["peak_rss_mb"]]), target=1.0,
               notes={**notes, "ratio": "budget / peak: >= 1 means the 4 GB budget holds"}),
        Result("qa_features_vs_tokenizer", Measure("tfft window_features", "questions/s",
                                                   [m["questions"] / m["seconds"]]),
               Measure("bare tokenizer call", "questions/s", [m["questions"] / m["bare_tokenizer_seconds"]]),
               notes={"what": "windows with offsets, span labels and flat int32 arrays vs one fast-tokenizer call "
                              "returning Python lists for the same windows (extrapolated from its first 20k)"}),
    ]


def generation(shape: str, sizes: wl.Sizes) -> Result:
    """Beam search (4 beams, bigram blocking, 32 new tokens, 8 inputs of 64 tokens), eager vs compiled."""
    import tensorflow as tf
    from transformers import T5Config, TFT5ForConditionalGeneration

    from tfft.generation.generate import GenerationOptions, compiled_generator

    tf.keras.utils.set_random_seed(0)
    model = TFT5ForConditionalGeneration(T5Config(dropout_rate=0.0, decoder_start_token_id=0, **T5_SHAPES[shape]))
    model(model.dummy_inputs)
    new_tokens = 8 if sizes.quick else 32
    ids = tf.constant(np.random.default_rng(0).integers(3, T5_SHAPES[shape]["vocab_size"], size=(8, 64)), tf.int32)
    mask = tf.ones_like(ids)
    options = GenerationOptions(num_beams=4, max_new_tokens=new_tokens, no_repeat_ngram_size=2)
    kwargs = {**options.generate_kwargs(), "no_repeat_ngram_size": 2}
    compiled = compiled_generator(model, options)
    compile_seconds = timed(lambda: compiled(ids, mask).numpy())
    eager_ids = model.generate(ids, attention_mask=mask, **kwargs).numpy()
    same = bool(np.array_equal(compiled(ids, mask).numpy()[:, :eager_ids.shape[1]], eager_ids))
    fast, slow = interleaved(lambda: 8 / timed(lambda: compiled(ids, mask).numpy()),
                             lambda: 8 / timed(lambda: model.generate(ids, attention_mask=mask, **kwargs).numpy()),
                             2 if shape == "t5-small" else sizes.repeats)
    return Result(f"generate_xla_vs_eager_{shape.replace('-', '_')}", Measure("compiled (tfft)", "inputs/s", fast),
                  Measure("eager (HF generate)", "inputs/s", slow), target=3.0,
                  notes={"what": f"T5 of {shape} shape (random weights), batch 8 x 64 tokens, 4 beams, "
                                 f"no_repeat_ngram_size 2, {new_tokens} new tokens",
                         "same_ids": same, "first compiled call (XLA compile)": f"{compile_seconds:.1f} s"})
