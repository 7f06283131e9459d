"""Peak memory and time of preparing SQuAD-sized QA features (88k questions, 384-token windows).

The data is synthetic but SQuAD-shaped: 19k contexts of ~110 words (a few up to 700, so
they need several windows), 4-5 questions of ~10 words each, answers of 1-4 words. Words
come from the tokenizer's own vocabulary, so token counts are realistic.

    python -m benchmarks.qa_features_memory                 # 88k questions, the packaged MiniLM tokenizer
    python -m benchmarks.qa_features_memory --questions=8000

Prints one JSON line: peak RSS (the process's high-water mark, which includes TensorFlow
and the tokenizer), the examples table, the feature arrays, the time taken, and the time
of one bare fast-tokenizer call over the same pairs (Python lists, no windows' labels).
``python -m benchmarks`` runs it in a fresh process (case ``qa_features_88k``) so the peak
is this work's alone.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time

import tfft  # noqa: F401  (sets up Keras 2 before anything imports TensorFlow)
import numpy as np
import pandas as pd

from tfft.models.loading import load_tokenizer, resolve_model_dir
from tfft.tasks.qa.features import window_features


def synthetic_squad(tokenizer, questions: int, seed: int = 0) -> pd.DataFrame:
    """SQuAD-shaped rows: id, question, context, answer_texts, answer_starts."""
    rng = random.Random(seed)
    words = [w for w in tokenizer.get_vocab() if w.isalpha() and len(w) > 2]
    rows, qid = [], 0
    while qid < questions:
        # log-normal like SQuAD's contexts: median ~110 words, ~2% beyond a 384-token window
        length = int(min(max(rng.lognormvariate(4.7, 0.45), 20), 700))
        context_words = rng.choices(words, k=length)
        context = " ".join(context_words)
        for _ in range(rng.randint(4, 5)):
            at, size = rng.randrange(length), rng.randint(1, 4)
            answer = " ".join(context_words[at:at + size])
            start = len(" ".join(context_words[:at])) + (1 if at else 0)
            rows.append((f"q{qid}", " ".join(rng.choices(words, k=rng.randint(6, 15))) + "?", context, [answer], [start]))
            qid += 1
    return pd.DataFrame(rows[:questions], columns=["id", "question", "context", "answer_texts", "answer_starts"])


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (``VmHWM``; unlike ``getrusage``'s maxrss it
    does not inherit the high-water mark of the process that started this one)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def bare_tokenizer_seconds(tokenizer, examples: pd.DataFrame, max_length: int, doc_stride: int) -> float:
    """One fast-tokenizer call making the same windows, as Python lists (what most scripts start from)."""
    start = time.time()
    tokenizer(list(examples["question"]), list(examples["context"]), truncation="only_second", max_length=max_length,
              stride=doc_stride, return_overflowing_tokens=True, return_offsets_mapping=True)
    return time.time() - start


def main() -> None:
    """Prints the JSON line described in the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=88_000)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--max_length", type=int, default=384)
    parser.add_argument("--doc_stride", type=int, default=128)
    args = parser.parse_args()
    tokenizer = load_tokenizer(resolve_model_dir(args.model))
    examples = synthetic_squad(tokenizer, args.questions)
    before = peak_rss_mb()
    start = time.time()
    features = window_features(tokenizer, examples, args.max_length, args.doc_stride)
    seconds = time.time() - start
    peak = peak_rss_mb()  # before the bare call below, whose Python lists would raise it
    bare = bare_tokenizer_seconds(tokenizer, examples.iloc[:min(len(examples), 20_000)], args.max_length,
                                  args.doc_stride) * len(examples) / min(len(examples), 20_000)
    arrays = [*features.inputs.values(), features.extras["offset_start"], features.extras["offset_end"]]
    feature_bytes = sum(r.values.nbytes + r.row_splits.nbytes for r in arrays) + features.labels.nbytes
    print(json.dumps({
        "questions": len(examples), "windows": len(features),
        "tokens_per_window_median": int(np.median(features.lengths())),
        "examples_table_mb": round(examples.memory_usage(deep=True).sum() / 2**20, 1),
        "features_mb": round(feature_bytes / 2**20, 1),
        "peak_rss_before_mb": round(before, 1), "peak_rss_mb": round(peak, 1),
        "seconds": round(seconds, 1), "bare_tokenizer_seconds": round(bare, 1)}))


if __name__ == "__main__":
    main()
