"""Peak memory of reading and tokenizing a training file (``tfft.data.prepare``), in a fresh process.

``python -m benchmarks`` (case ``huge_cell_memory``) runs it twice: on 40 reviews, and on the
same 40 reviews plus one review of many megabytes (a text pasted whole into one cell). Texts
are cut to ``max_length`` x 100 characters before tokenizing, so the huge cell should cost
little more than reading it.

    python -m benchmarks.huge_cell_memory --train_file=reviews.csv --model=minilm

Prints one JSON line: peak RSS before and after preparing, the seconds it took, the
examples and the longest token row.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import tfft

from benchmarks.qa_features_memory import peak_rss_mb


def main() -> None:
    """Prints the JSON line described in the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train_file", required=True)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--max_length", type=int, default=128)
    args = parser.parse_args()
    from tfft.data.prepare import load_model_context, prepare

    with tempfile.TemporaryDirectory(prefix="tfft-huge-cell-") as root:
        cfg = tfft.Config(task="classification", model=args.model, train_file=args.train_file, validation_split=0.0,
                          max_length=args.max_length, label_names=("0", "1"), cache_dir=os.path.join(root, "cache"),
                          output_dir=os.path.join(root, "run"))
        load_model_context(cfg)  # the tokenizer and model config: the same in both runs, not part of the work
        before = peak_rss_mb()
        start = time.perf_counter()
        prepared = prepare(cfg)
        seconds = time.perf_counter() - start
    features = prepared.features["train"]
    print(json.dumps({"peak_rss_before_mb": round(before, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
                      "seconds": round(seconds, 2), "examples": len(features),
                      "longest_row": int(features.lengths().max()),
                      "file_mb": round(os.path.getsize(args.train_file) / 2**20, 1)}))


if __name__ == "__main__":
    main()
