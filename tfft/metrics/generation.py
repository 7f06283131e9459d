"""Metrics of generated text against one reference per example.

``exact_match`` and ``f1`` use the SQuAD definitions (``tfft.metrics.squad``); ``rouge_l``
is the ROUGE-L F-measure (beta 1) of the longest common token subsequence, with tokens as
``rouge_score`` makes them by default (lower case, runs of ``[a-z0-9]``, no stemming).
All three are averaged over examples and reported in [0, 1].
"""

from __future__ import annotations

import re
from typing import Sequence

from tfft.metrics.squad import exact_score, f1_score

_TOKEN = re.compile(r"[a-z0-9]+")


def rouge_tokens(text: str) -> list[str]:
    """Lower-cased alphanumeric tokens."""
    return _TOKEN.findall(text.lower())


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (O(len(a) * len(b)) time, O(len(b)) memory)."""
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure of one prediction.

    Example:
        >>> round(rouge_l("the cat sat on the mat", "the cat lay on the mat"), 3)
        0.833
    """
    predicted, gold = rouge_tokens(prediction), rouge_tokens(reference)
    if not predicted or not gold:
        return float(predicted == gold)
    common = lcs_length(predicted, gold)
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def generation_metrics(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """``exact_match``, ``f1`` and ``rouge_l`` averaged over examples (0.0 for no examples)."""
    n = len(predictions)
    if n != len(references):
        raise ValueError(f"{n} predictions for {len(references)} references.")
    if n == 0:
        return {"exact_match": 0.0, "f1": 0.0, "rouge_l": 0.0}
    return {
        "exact_match": sum(map(exact_score, references, predictions)) / n,
        "f1": sum(map(f1_score, references, predictions)) / n,
        "rouge_l": sum(map(rouge_l, predictions, references)) / n,
    }
