"""Cases on the input pipeline alone: tokenization + batching against training, and tfft's
tokenization against a bare Hugging Face fast-tokenizer call on the same texts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import numpy as np

from benchmarks import workloads as wl
from benchmarks.harness import Measure, Result, interleaved, timed


def run(sizes: wl.Sizes, root: str, shared: dict[str, Any]) -> list[Result]:
    """``pipeline_vs_train`` (needs ``shared['tfft_train_rate']``), ``tokenize_vs_hf`` and ``huge_cell_memory``."""
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
        huge_cell(sizes, root, wl.filler_words(tokenizer)),
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


def huge_cell(sizes: wl.Sizes, root: str, words: list[str]) -> Result:
    """Peak RSS of preparing 40 reviews with one huge review among them vs without it, each in a
    fresh process (``benchmarks.huge_cell_memory``)."""
    cell_mb = 2 if sizes.quick else 100  # 100 MB: the cell of the report (13.1 GB, 427 s before the cut)
    rows = wl.reviews(40, words, 200, seed=5)
    plain = wl.write_csv(os.path.join(root, "reviews-40.csv"), rows)
    huge = wl.write_csv(os.path.join(root, "reviews-40-huge.csv"), rows[:20])
    with open(huge, "a", encoding="utf-8") as f:  # written a megabyte at a time: the harness stays small
        block = (rows[0][0] + " ") * (2**20 // (len(rows[0][0]) + 1) + 1)
        for _ in range(cell_mb):
            f.write(block[:2**20])
        f.write(",1\n")
    with open(huge, "a", newline="", encoding="utf-8") as f:
        f.writelines(f"{text},{label}\r\n" for text, label in rows[20:])
    project = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    runs = {}
    for name, path in (("plain", plain), ("huge", huge)):
        proc = subprocess.run([sys.executable, "-m", "benchmarks.huge_cell_memory", f"--train_file={path}",
                               f"--model={wl.model_dir(sizes, root)}", f"--max_length={sizes.max_length}"],
                              capture_output=True, text=True, cwd=project, check=True)
        runs[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    plain_mb, huge_mb = runs["plain"]["peak_rss_mb"], runs["huge"]["peak_rss_mb"]
    print(f"huge_cell_memory: peak RSS {huge_mb:,.0f} MB with one {cell_mb} MB cell vs {plain_mb:,.0f} MB without "
          f"({huge_mb / plain_mb:.2f}x; target within 1.2x), {runs['huge']['seconds']} s vs "
          f"{runs['plain']['seconds']} s")
    return Result("huge_cell_memory", Measure("40 reviews", "MB", [plain_mb]),
                  Measure(f"the same + one {cell_mb} MB review", "MB", [huge_mb]), target=round(1 / 1.2, 3),
                  notes={"what": f"peak RSS of reading and tokenizing (tfft prepare, max_length {sizes.max_length}) "
                                 "a CSV, fresh process each; ratio without / with: >= 0.833 means the huge cell "
                                 "costs at most 1.2x",
                         "with_over_without": round(huge_mb / plain_mb, 3),
                         "seconds": {"without": runs["plain"]["seconds"], "with": runs["huge"]["seconds"]},
                         "peak_rss_before_mb": runs["huge"]["peak_rss_before_mb"]})
