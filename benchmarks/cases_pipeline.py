"""Cases on the input pipeline alone: tokenization + batching against training, and tfft's
tokenization against a bare Hugging Face fast-tokenizer call on the same texts."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from benchmarks import workloads as wl
from benchmarks.harness import Measure, Result, interleaved, timed


def run(sizes: wl.Sizes, root: str, shared: dict[str, Any]) -> list[Result]:
    """``pipeline_vs_train`` (needs ``shared['tfft_train_rate']``) and ``tokenize_vs_hf``."""
    from transformers import AutoTokenizer

    from tfft.data.features import Features, encode_texts
    from tfft.data.pipeline import make_dataset

    tokenizer = AutoTokenizer.from_pretrained(wl.model_dir(sizes, root))
    median = wl.MEDIAN_TOKENS if not sizes.quick else 24
    rows = wl.reviews(200 if sizes.quick else 4000, wl.filler_words(tokenizer), median, seed=3)
    texts, labels = [t for t, _ in rows], np.array([y for _, y in rows])
    pad = {"input_ids": tokenizer.pad_token_id or 0}

    def tokenize_and_batch() -> float:
        def work() -> None:
            features = Features(encode_texts(tokenizer, texts, sizes.max_length), labels=labels)
            for _ in make_dataset(features, batch_size=sizes.batch, pad_values=pad, shuffle=True, seed=0, buckets=8):
                pass
        return len(texts) / timed(work)

    def ours() -> float:
        return len(texts) / timed(lambda: encode_texts(tokenizer, texts, sizes.max_length))

    def bare() -> float:
        return len(texts) / timed(lambda: tokenizer(texts, truncation=True, max_length=sizes.max_length))

    tfft_rates, hf_rates = interleaved(ours, bare, sizes.repeats)
    results = [
        Result("tokenize_vs_hf", Measure("tfft encode_texts", "examples/s", tfft_rates),
               Measure("tokenizer(texts)", "examples/s", hf_rates), target=0.9,
               notes={"what": "tfft's chunked tokenization into flat int32 arrays vs one bare fast-tokenizer call "
                              "returning Python lists (1.0 = no overhead)"}),
    ]
    if "tfft_train_rate" not in shared:  # the train group did not run: the previous pipeline_vs_train stays
        print("pipeline_vs_train: skipped (needs the train group's training rate: --only train,pipeline)")
        return results
    pipeline_rates = [tokenize_and_batch() for _ in range(sizes.repeats)]
    return [Result("pipeline_vs_train", Measure("tokenize + batch", "examples/s", pipeline_rates),
                   Measure("tfft training", "examples/s", shared["tfft_train_rate"]), target=20.0,
                   notes={"what": f"{len(texts)} IMDB-like texts: fast tokenizer (truncation at {sizes.max_length}), "
                                  "ragged packing, shuffled length-bucketed tf.data batches, against the training "
                                  "rate of train_speedup_vs_pad_to_max", "cores": os.cpu_count()})] + results
