"""Simple baselines scored on the same splits as tfft's runs.

- Text classification: TF-IDF of word 1-2 grams and a logistic regression (one-vs-rest for
  multi-label), its inverse regularisation ``C`` chosen on validation from a small grid.
- SQuAD 2.0: answering nothing, and a sliding-window lexical baseline in the manner of the
  SQuAD paper's (after the MCTest window with distance): every candidate span of up to four
  words that shares no word with the question is scored by the question words in a window
  around it, weighted by inverse document frequency and nearness; the best span is the answer.

Scores use tfft's own metric functions, so both sides are measured alike.
"""

from __future__ import annotations

import collections
import math
import re
from typing import Any, Sequence

import numpy as np
import pandas as pd

from tfft.metrics.classification import classification_metrics
from tfft.metrics.multilabel import multilabel_metrics
from tfft.metrics.squad import squad_metrics

C_GRID = (0.25, 1.0, 4.0, 16.0, 64.0)


def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)


def tfidf_classifier(splits: dict[str, pd.DataFrame], text: str = "text", label: str = "label") -> dict[str, Any]:
    """Test accuracy and F1 of TF-IDF + logistic regression, ``C`` chosen by validation accuracy."""
    from sklearn.linear_model import LogisticRegression

    vec = _vectorizer().fit(splits["train"][text])
    x = {s: vec.transform(f[text]) for s, f in splits.items()}
    y = {s: f[label].to_numpy() for s, f in splits.items()}
    best = max(C_GRID, key=lambda c: LogisticRegression(C=c, max_iter=5000).fit(x["train"], y["train"])
               .score(x["validation"], y["validation"]))
    model = LogisticRegression(C=best, max_iter=5000).fit(x["train"], y["train"])
    scores = classification_metrics(y["test"], model.decision_function(x["test"])[:, None] * [-1, 1])
    return {**scores, "C": best}


def tfidf_multilabel(splits: dict[str, pd.DataFrame], text: str, labels: Sequence[str]) -> dict[str, Any]:
    """Test metrics of TF-IDF + one-vs-rest logistic regression at threshold 0.5, ``C`` chosen
    by validation micro-F1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    vec = _vectorizer().fit(splits["train"][text])
    x = {s: vec.transform(f[text]) for s, f in splits.items()}
    y = {s: f[list(labels)].to_numpy(np.int32) for s, f in splits.items()}
    half = np.full(len(labels), 0.5)

    def fit(c: float) -> Any:
        return OneVsRestClassifier(LogisticRegression(C=c, max_iter=5000)).fit(x["train"], y["train"])

    best = max(C_GRID, key=lambda c: multilabel_metrics(y["validation"], fit(c).predict_proba(x["validation"]),
                                                        half)["micro_f1"])
    scores = multilabel_metrics(y["test"], fit(best).predict_proba(x["test"]), half)
    return {**scores, "C": best}


_WORD = re.compile(r"\w+", re.UNICODE)
WINDOW = 10  # words either side of a candidate that count towards its score
MAX_SPAN = 4


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(text)]


def sliding_window_answer(question: str, context: str, idf: dict[str, float]) -> str:
    """The span of up to ``MAX_SPAN`` context words, none of them a question word, whose
    surrounding ``WINDOW`` words on each side hold the most question words, each weighted by
    its IDF and by ``1 / (1 + distance)`` in words from the span (the window with distance)."""
    asked = {w for w, _, _ in _words(question)}
    words = _words(context)
    hits = [(k, idf.get(w, 0.0)) for k, (w, _, _) in enumerate(words) if w in asked]
    best, answer = 0.0, ""
    for i in range(len(words)):
        for j in range(i, min(i + MAX_SPAN, len(words))):
            if words[j][0] in asked:
                break
            score = sum(weight / (1 + (i - k if k < i else k - j)) for k, weight in hits
                        if i - WINDOW <= k <= j + WINDOW) - 0.01 * (j - i)  # ties go to the shorter span
            if score > best:
                best, answer = score, context[words[i][1]:words[j][2]]
    return answer


def squad_baselines(examples: pd.DataFrame) -> dict[str, dict[str, float]]:
    """SQuAD 2.0 metrics of answering nothing and of the sliding window on ``examples``
    (rows ``id, question, context, answers``)."""
    gold = {r.id: list(r.answers["text"]) for r in examples.itertuples()}
    contexts = examples["context"].drop_duplicates().tolist()
    df = collections.Counter(w for c in contexts for w in {w for w, _, _ in _words(c)})
    idf = {w: math.log(1 + len(contexts) / n) for w, n in df.items()}
    window = {r.id: sliding_window_answer(r.question, r.context, idf) for r in examples.itertuples()}
    return {"no_answer": squad_metrics(gold, {q: "" for q in gold}, version_2=True),
            "sliding_window": squad_metrics(gold, window, version_2=True)}

