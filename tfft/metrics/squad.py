"""SQuAD exact match and F1, as the official v1.1 and v2.0 evaluation scripts define them.

Both scripts normalise an answer the same way (lowercase, drop punctuation, drop the
articles a/an/the, collapse whitespace), score each question by its best gold answer, and
report percentages. They differ only on answers that normalise to nothing: v2.0 ignores
such gold answers and treats a question without any as "no answer", whose only right
prediction is the empty string. v2.0 also breaks the scores down by answerable
(``has_ans_*``) and unanswerable (``no_ans_*``) questions and, given a no-answer score per
question, finds the threshold on it that would have scored best (``best_*``).
"""

from __future__ import annotations

import collections
import re
import string
from typing import Mapping, Optional, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lowercase, no punctuation, no articles, single spaces: ``"The  Cat's"`` -> ``"cats"``."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_score(gold: str, prediction: str) -> int:
    """1 when the normalised answers are equal."""
    return int(normalize_answer(gold) == normalize_answer(prediction))


def f1_score(gold: str, prediction: str, version_2: bool = True) -> float:
    """Harmonic mean of token precision and recall of the normalised answers.

    v2.0: when either side is empty, 1 if both are, else 0. v1.1: 0 without a shared token.
    """
    gold_tokens = normalize_answer(gold).split()
    predicted = normalize_answer(prediction).split()
    if version_2 and (not gold_tokens or not predicted):
        return float(gold_tokens == predicted)
    same = sum((collections.Counter(gold_tokens) & collections.Counter(predicted)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def raw_scores(gold: Mapping[str, Sequence[str]], predictions: Mapping[str, str],
               version_2: bool) -> tuple[dict[str, float], dict[str, float]]:
    """Per question id: exact match and F1 (0/1 and 0..1) against its best gold answer."""
    exact, f1 = {}, {}
    for qid, answers in gold.items():
        candidates = list(answers)
        if version_2:
            candidates = [a for a in candidates if normalize_answer(a)] or [""]
        prediction = predictions.get(qid, "")
        exact[qid] = float(max(exact_score(a, prediction) for a in candidates)) if candidates else 0.0
        f1[qid] = max(f1_score(a, prediction, version_2) for a in candidates) if candidates else 0.0
    return exact, f1


def squad_metrics(gold: Mapping[str, Sequence[str]], predictions: Mapping[str, str], version_2: bool = False,
                  no_answer_scores: Optional[Mapping[str, float]] = None,
                  span_predictions: Optional[Mapping[str, str]] = None) -> dict[str, float]:
    """``exact_match`` and ``f1`` in percent; v2.0 adds the answerable / unanswerable breakdown.

    Args:
        gold: Question id -> gold answer texts (empty: the question has no answer).
        predictions: Question id -> predicted text ("" for no answer); missing ids score 0.
        version_2: Score as the v2.0 script (else v1.1).
        no_answer_scores: v2.0: question id -> how much more the model believes "no answer"
            than its best span (the official script's ``na_prob``); enables ``best_*``.
        span_predictions: The best non-empty span per question, which ``best_*`` answers
            with whenever its no-answer score is at most the threshold (default: predictions).

    Returns:
        ``exact_match``, ``f1``; v2.0 also ``has_ans_exact``, ``has_ans_f1``, ``no_ans_exact``,
        ``no_ans_f1`` (each when such questions exist) and, with ``no_answer_scores``,
        ``best_exact``, ``best_exact_thresh``, ``best_f1``, ``best_f1_thresh``.
    """
    exact, f1 = raw_scores(gold, predictions, version_2)
    result = {"exact_match": _percent(exact.values()), "f1": _percent(f1.values())}
    if not version_2:
        return result
    for prefix, keep in (("has_ans", True), ("no_ans", False)):
        ids = [q for q, answers in gold.items() if bool(len(answers)) == keep]
        if ids:
            result[f"{prefix}_exact"] = _percent(exact[q] for q in ids)
            result[f"{prefix}_f1"] = _percent(f1[q] for q in ids)
    if no_answer_scores is not None:
        spans = span_predictions if span_predictions is not None else predictions
        span_exact, span_f1 = raw_scores(gold, spans, version_2)
        for name, scores in (("exact", span_exact), ("f1", span_f1)):
            result[f"best_{name}"], result[f"best_{name}_thresh"] = best_threshold(
                gold, spans, scores, no_answer_scores)
    return result


def best_threshold(gold: Mapping[str, Sequence[str]], spans: Mapping[str, str], scores: Mapping[str, float],
                   no_answer_scores: Mapping[str, float]) -> tuple[float, float]:
    """The official ``find_best_thresh``: the no-answer threshold that scores best, and that score.

    Starting from "no answer" everywhere, questions switch to their span in order of rising
    no-answer score; each switch gains the span's score on an answerable question and loses
    1 on an unanswerable one. The returned threshold ``t`` means: answer "" when the
    no-answer score exceeds ``t``. When answering nothing is best, ``t`` lies below every score.
    """
    current = best = float(sum(1 for answers in gold.values() if not len(answers)))
    ordered = sorted((q for q in gold if q in no_answer_scores), key=lambda q: no_answer_scores[q])
    threshold = (no_answer_scores[ordered[0]] - 1.0) if ordered else 0.0
    for qid in ordered:
        if len(gold[qid]):
            current += scores[qid]
        elif spans.get(qid, ""):
            current -= 1
        if current > best:
            best, threshold = current, float(no_answer_scores[qid])
    return 100.0 * best / max(len(gold), 1), threshold


def _percent(values) -> float:
    values = list(values)
    return 100.0 * sum(values) / len(values) if values else 0.0
