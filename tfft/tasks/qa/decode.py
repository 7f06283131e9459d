"""Span logits of every window -> the n best answers of each question, in characters.

For each window, the ``n_best_size`` highest start and end logits among its context tokens
are paired (end not before start, at most ``max_answer_length`` tokens); a span's score is
its start logit plus its end logit. The candidates of all windows of a question are pooled,
the same character span found by two overlapping windows is kept once (its best score),
and the ``n_best_size`` best are mapped back to the context's characters.

SQuAD v2.0: "no answer" scores the [CLS] start plus end logit, at its lowest over the
question's windows (the window that most believes there is an answer decides). The
question gets "" when that null score exceeds the best span's by more than
``null_score_diff_threshold``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

from tfft.data.features import Features


@dataclasses.dataclass(frozen=True)
class DecodeOptions:
    """Post-processing knobs (the ``--n_best_size`` ... flags)."""

    n_best_size: int = 20
    max_answer_length: int = 30
    version_2: bool = False
    null_score_diff_threshold: float = 0.0


def decode(span_logits: np.ndarray, features: Features, contexts: Sequence[str],
           options: DecodeOptions) -> list[dict[str, Any]]:
    """One answer per context (question), from ``[windows, 2, seq]`` start/end logits.

    Returns:
        Per question: ``answer`` (text, "" for none), ``probability`` (softmax over its
        n-best list), ``start`` / ``end`` (character span, None for no answer),
        ``best_span`` (the best non-empty span's text), ``no_answer_score`` (null score
        minus best span score; v2.0 only) and ``nbest`` (the official n-best entries).
    """
    by_example = [[] for _ in contexts]
    for window, row in enumerate(features.example_index):
        by_example[int(row)].append(window)
    return [_answer(span_logits, features, windows, context, options)
            for windows, context in zip(by_example, contexts)]


def _answer(logits: np.ndarray, features: Features, windows: list[int], context: str,
            options: DecodeOptions) -> dict[str, Any]:
    spans = [_window_spans(logits[w], features, w, options) for w in windows]
    nbest = _best_unique(np.concatenate(spans, axis=0) if spans else np.zeros((0, 5)), options.n_best_size)
    entries = [{"text": context[int(s):int(e)], "probability": 0.0, "start_logit": float(sl), "end_logit": float(el),
                "answer_start": int(s)} for s, e, sl, el, _ in nbest]
    best = entries[0] if entries else None
    null = _null_entry(logits, features, windows) if options.version_2 else None
    if null is not None:
        entries.append(null)
        entries.sort(key=lambda e: e["start_logit"] + e["end_logit"], reverse=True)
    scores = np.array([e["start_logit"] + e["end_logit"] for e in entries], dtype=np.float64)
    if len(scores):
        weights = np.exp(scores - scores.max())
        for entry, p in zip(entries, weights / weights.sum()):
            entry["probability"] = float(p)
    chosen = best
    result: dict[str, Any] = {"best_span": best["text"] if best else "", "nbest": entries}
    if null is not None:
        result["no_answer_score"] = (null["start_logit"] + null["end_logit"] - best["start_logit"] - best["end_logit"]
                                     if best else float("inf"))
        if result["no_answer_score"] > options.null_score_diff_threshold:
            chosen = null
    answered = chosen is not None and chosen["text"] != ""
    result.update(answer=chosen["text"] if answered else "",
                  probability=chosen["probability"] if chosen else 0.0,
                  start=chosen["answer_start"] if answered else None,
                  end=chosen["answer_start"] + len(chosen["text"]) if answered else None)
    return result


def _null_entry(logits: np.ndarray, features: Features, windows: list[int]) -> dict[str, Any]:
    """The no-answer entry: [CLS] start + end logit of the window where it is lowest."""
    cls = features.extras["cls_index"]
    pairs = [(float(logits[w, 0, cls[w]]), float(logits[w, 1, cls[w]])) for w in windows] or [(0.0, 0.0)]
    start, end = min(pairs, key=sum)
    return {"text": "", "probability": 0.0, "start_logit": start, "end_logit": end, "answer_start": -1}


def _window_spans(logits: np.ndarray, features: Features, window: int, options: DecodeOptions) -> np.ndarray:
    """Candidate spans of one window: rows of (char start, char end, start logit, end logit, score)."""
    starts = features.extras["offset_start"].row(window)
    ends = features.extras["offset_end"].row(window)
    context = np.flatnonzero(starts >= 0)
    if not len(context):
        return np.zeros((0, 5))
    start_logits, end_logits = logits[0, :len(starts)], logits[1, :len(starts)]
    top_start = context[np.argsort(-start_logits[context], kind="stable")[:options.n_best_size]]
    top_end = context[np.argsort(-end_logits[context], kind="stable")[:options.n_best_size]]
    first, last = (a.ravel() for a in np.meshgrid(top_start, top_end, indexing="ij"))
    keep = (last >= first) & (last - first < options.max_answer_length)
    first, last = first[keep], last[keep]
    return np.stack([starts[first], ends[last], start_logits[first], end_logits[last],
                     start_logits[first] + end_logits[last]], axis=1).astype(np.float64)


def _best_unique(candidates: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` best-scoring rows, each character span once (overlapping windows repeat spans)."""
    order = np.argsort(-candidates[:, 4], kind="stable")
    seen: set[tuple[int, int]] = set()
    kept = []
    for i in order:
        key = (int(candidates[i, 0]), int(candidates[i, 1]))
        if key in seen:
            continue
        seen.add(key)
        kept.append(i)
        if len(kept) == n:
            break
    return candidates[kept]
