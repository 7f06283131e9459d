"""Serving latency of byte-level BPE in the graph: a RoBERTa export's raw-text signature against
its token-id signature after the HF fast tokenizer (Python).

No pretrained RoBERTa is packaged, so the model is random at MiniLM's size (6 layers, hidden
384; 2 x 32 at quick sizes) and the tokenizer a byte-level BPE of up to 8,000 tokens trained on
the reviews' words, then wrapped as ``RobertaTokenizerFast``: the ids differ from real RoBERTa's,
the work per token does not. ``serving_bpe_text_vs_ids_b32``: batch 32 of reviews, the ratio
is ids + Python tokenization / raw text (best calls), so the target 0.77 is "raw text within
1.3x".
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from benchmarks import workloads as wl
from benchmarks.cases_serving import MAX_LENGTH, REVIEW_WORDS, _interleaved_latencies, exported_classifier
from benchmarks.harness import Measure, Result

TEXT_WITHIN = 1.3  # target: raw-text latency at most this many times ids + Python tokenization


def roberta_dir(root: str, texts: list[str], quick: bool) -> str:
    """A random RoBERTa (MiniLM-sized, or tiny when ``quick``) with a BPE trained on ``texts``."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaTokenizerFast, TFRobertaModel

    path = wl.fresh_dir(os.path.join(root, "roberta"))
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=8000, min_frequency=1, show_progress=False,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(path)
    tokenizer = RobertaTokenizerFast(vocab_file=f"{path}/vocab.json", merges_file=f"{path}/merges.txt")
    size = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64) if quick else \
        dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)
    model = TFRobertaModel(RobertaConfig(vocab_size=len(tokenizer), max_position_embeddings=MAX_LENGTH + 2,
                                         type_vocab_size=1, pad_token_id=tokenizer.pad_token_id, **size))
    model(model.dummy_inputs)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def run(sizes: wl.Sizes, root: str, shared: dict[str, Any]) -> list[Result]:
    """``serving_bpe_text_vs_ids_b32``."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the raw-text signature's ops)
    from transformers import AutoTokenizer

    words = wl.filler_words(AutoTokenizer.from_pretrained(wl.minilm_dir()))
    rows = wl.reviews(64, words, REVIEW_WORDS, seed=5, cap=400)
    texts = [text for text, _ in rows]
    model_dir = roberta_dir(root, texts * 4, sizes.quick)
    cfg, model, text_fn, ids_fn = exported_classifier(root, "serving-bpe", model_dir, rows, sizes)
    tokenizer = model.tokenizer

    def tokenized(batch: list[str]) -> dict[str, Any]:
        enc = tokenizer(batch, truncation=True, max_length=cfg.max_length, padding=True, return_tensors="np")
        return {k: tf.constant(enc[k].astype(np.int32)) for k in ("input_ids", "attention_mask")}

    calls = 4 if sizes.quick else 16
    batches = [[texts[(i * 32 + j) % len(texts)] for j in range(32)] for i in range(calls)]
    paths: dict[str, Callable[[list[str]], Any]] = {
        "raw text": lambda b: text_fn(text=tf.constant(b))["probabilities"].numpy(),
        "ids + Python tokenizer": lambda b: ids_fn(**tokenized(b))["probabilities"].numpy()}
    latency = _interleaved_latencies(paths, batches, calls)
    what = (f"batch 32 of reviews (median {REVIEW_WORDS} words, max_length {cfg.max_length}), random "
            f"{'tiny' if sizes.quick else 'MiniLM-sized'} RoBERTa classification export with a trained "
            f"{len(tokenizer)}-token byte-level BPE, loaded in process")
    notes = {"p50 / p99 ms": "; ".join(f"{k} {np.percentile(v, 50):.2f} / {np.percentile(v, 99):.2f}"
                                       for k, v in latency.items()), "what": what}
    return [Result("serving_bpe_text_vs_ids_b32",
                   Measure("ids + Python tokenizer (serve_ids)", "ms", latency["ids + Python tokenizer"]),
                   Measure("raw text (serving_default, BPE in graph)", "ms", latency["raw text"]),
                   target=round(1 / TEXT_WITHIN, 2), notes=notes)]
