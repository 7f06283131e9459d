"""What the cases run on: IMDB-like synthetic reviews, model directories, tfft configs, and
the usual pipeline tfft is compared with.

The reviews are random common words (one WordPiece token each in the uncased BERT
vocabulary) with lengths drawn from a log-normal of median 230 tokens and sigma 0.625,
so about 10% are longer than 512 tokens, like IMDB under a BERT tokenizer.
Twelve sentiment words of the review's class (about 5% of a median review) are put at
random places, so a short fine-tune has something real to learn and the two pipelines'
accuracies can be compared: with five, four epochs of 64 reviews left MiniLM at 0.69-0.75
held-out accuracy; with twelve it reaches 1.0 by the third epoch (seeds 0 and 1).
"""

from __future__ import annotations

import csv
import dataclasses
import os
import random
import shutil
from typing import Any, Optional

import numpy as np

POSITIVE = ["excellent", "wonderful", "brilliant", "superb", "delightful", "beautiful", "masterpiece"]
NEGATIVE = ["terrible", "awful", "boring", "dreadful", "horrible", "disappointing", "worst"]
MEDIAN_TOKENS, SIGMA = 230, 0.625
SIGNAL_WORDS = 12


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How big each case runs: full (``make bench``) or quick (``make bench-quick``)."""

    quick: bool
    max_length: int
    train_examples: int
    heldout_examples: int
    batch: int
    repeats: int
    flop_steps: int

    @classmethod
    def make(cls, quick: bool) -> "Sizes":
        if quick:
            return cls(quick, max_length=64, train_examples=48, heldout_examples=32, batch=8, repeats=2, flop_steps=2)
        return cls(quick, max_length=512, train_examples=64, heldout_examples=64, batch=8, repeats=3, flop_steps=3)


def filler_words(tokenizer: Any, count: int = 3000) -> list[str]:
    """Common alphabetic words that are single tokens in the vocabulary, minus sentiment words."""
    banned = set(POSITIVE + NEGATIVE)
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    words = [w for w, _ in vocab if w.isalpha() and w.isascii() and len(w) > 2 and w not in banned]
    return words[1000:1000 + count]  # skip the first ids (rare symbols and unused slots)


def reviews(n: int, words: list[str], median: int, seed: int, cap: Optional[int] = None,
            signal: int = SIGNAL_WORDS) -> list[tuple[str, int]]:
    """``n`` balanced ``(text, label)`` pairs with log-normal lengths (in words ~ tokens), each
    with ``signal`` sentiment words of its class."""
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    lengths = np.maximum(8, np_rng.lognormal(np.log(median), SIGMA, n)).astype(int)
    if cap:
        lengths = np.minimum(lengths, cap)
    rows = []
    for i, length in enumerate(lengths):
        label = i % 2
        text = rng.choices(words, k=int(length))
        for word in rng.choices(POSITIVE if label else NEGATIVE, k=signal):
            text[rng.randrange(len(text))] = word
        rows.append((" ".join(text), label))
    rng.shuffle(rows)
    return rows


def write_csv(path: str, rows: list[tuple[str, int]]) -> str:
    """``text,label`` CSV."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def minilm_dir() -> str:
    """The packaged all-MiniLM-L6-v2 (6 layers, hidden 384): the MiniLM-sized model of every case."""
    from tfft.models.loading import resolve_model_dir

    return resolve_model_dir("minilm")


def tiny_model_dir(root: str) -> str:
    """A 2-layer, hidden-32 random BERT with MiniLM's tokenizer (quick runs)."""
    from transformers import AutoTokenizer, BertConfig, TFBertModel

    path = os.path.join(root, "tiny-bert")
    if os.path.exists(os.path.join(path, "tf_model.h5")):
        return path
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir())
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=512)
    model = TFBertModel(config)
    model(model.dummy_inputs)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def model_dir(sizes: Sizes, root: str) -> str:
    """MiniLM for full runs, the tiny BERT for quick ones."""
    return tiny_model_dir(root) if sizes.quick else minilm_dir()


def config(root: str, model: str, train: str, heldout: Optional[str], sizes: Sizes, **overrides: Any) -> Any:
    """A tfft config for these files (classification, no validation split, cache under ``root``)."""
    import tfft

    values = dict(task="classification", model=model, train_file=train, validation_file=heldout,
                  label_names=("0", "1"), max_length=sizes.max_length, batch_size=sizes.batch,
                  eval_batch_size=sizes.batch * 4, epochs=sizes.repeats, learning_rate=5e-5, warmup_ratio=0.1,
                  output_dir=os.path.join(root, "run"), export_dir=os.path.join(root, "exports"),
                  cache_dir=os.path.join(root, "cache"), seed=0, validation_split=0.0)
    values.update(overrides)
    return tfft.Config(**values)


def fresh_dir(path: str) -> str:
    """Empties ``path`` and returns it."""
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path
