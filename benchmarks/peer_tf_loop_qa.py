"""The plain TensorFlow user's extractive QA run (SQuAD JSON, answerable questions), the
hand-written loop of :mod:`benchmarks.peer_tf_loop` with a span head.

The usual recipe: the fast tokenizer cuts each question + context into windows of
``max_length`` tokens sharing ``doc_stride`` (``return_overflowing_tokens``, offsets kept
to map tokens back to characters); a window is trained to point at the first answer's
start and end tokens, or at ``[CLS]`` when the answer is not wholly inside it;
``TFAutoModelForQuestionAnswering`` (the checkpoint's encoder, a new start/end dense),
the mean of the start and end cross-entropies. Decoding pairs each window's 20 best
start and end context tokens (end not before start, at most 30 tokens), keeps the best
sum over a question's windows, and scores SQuAD's exact match and F1 (lower case, no
punctuation or articles) in percent against every gold answer.
"""

from __future__ import annotations

import collections
import json
import os
import re
import string
from typing import Any

from benchmarks.peer_common import report
from benchmarks.peer_tf_loop import batches, load_model, steps_of, train

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def read_squad(path: str) -> list[dict[str, Any]]:
    """The questions of a SQuAD JSON file: ``question``, ``context``, ``answers`` (texts),
    ``answer_start`` (the first answer's character offset)."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    return [{"question": q["question"], "context": p["context"], "answers": [a["text"] for a in q["answers"]],
             "answer_start": q["answers"][0]["answer_start"]}
            for article in data for p in article["paragraphs"] for q in p["qas"] if q["answers"]]


def windows(tokenizer: Any, questions: list[dict], s: dict[str, Any]) -> tuple[list[dict], list[tuple]]:
    """Model rows (inputs plus ``start``/``end`` labels) and, per window, (question index,
    context token indices, offsets)."""
    enc = tokenizer([q["question"] for q in questions], [q["context"] for q in questions],
                    truncation="only_second", max_length=s["max_length"], stride=s["doc_stride"],
                    return_overflowing_tokens=True, return_offsets_mapping=True)
    rows, where = [], []
    for w, qi in enumerate(enc["overflow_to_sample_mapping"]):
        offsets = enc["offset_mapping"][w]
        context = [i for i, sid in enumerate(enc.sequence_ids(w)) if sid == 1]
        begin = questions[qi]["answer_start"]
        end = begin + len(questions[qi]["answers"][0])
        start_token = end_token = 0  # [CLS]: the answer is not wholly in this window
        if offsets[context[0]][0] <= begin and offsets[context[-1]][1] >= end:
            start_token = next(i for i in context if offsets[i][1] > begin)
            end_token = max(i for i in context if offsets[i][0] < end)
        rows.append({**{k: enc[k][w] for k in INPUTS}, "start": start_token, "end": end_token})
        where.append((qi, context, offsets))
    return rows, where


def best_answers(questions: list[dict], where: list[tuple], starts: list[Any], ends: list[Any],
                 n_best: int = 20, longest: int = 30) -> list[str]:
    """Each question's best-scoring span (start + end logit) over its windows, as text."""
    import numpy as np

    best: dict[int, tuple[float, str]] = {}
    for (qi, context, offsets), start_logits, end_logits in zip(where, starts, ends):
        ctx = np.array(context)
        top_starts = ctx[np.argsort(start_logits[ctx])[::-1][:n_best]]
        top_ends = ctx[np.argsort(end_logits[ctx])[::-1][:n_best]]
        for a in top_starts:
            for b in top_ends:
                score = float(start_logits[a] + end_logits[b])
                if a <= b < a + longest and score > best.get(qi, (-np.inf, ""))[0]:
                    best[qi] = (score, questions[qi]["context"][offsets[a][0]:offsets[b][1]])
    return [best.get(i, (0.0, ""))[1] for i in range(len(questions))]


def _normal(text: str) -> list[str]:
    text = "".join(c for c in text.lower() if c not in set(string.punctuation))
    return re.sub(r"\b(a|an|the)\b", " ", text).split()


def squad_scores(predictions: list[str], golds: list[list[str]]) -> dict[str, float]:
    """SQuAD exact match and F1 in percent, each question scored against its best gold answer."""
    def f1(pred: list[str], gold: list[str]) -> float:
        common = sum((collections.Counter(pred) & collections.Counter(gold)).values())
        if not pred or not gold:
            return float(pred == gold)
        return 0.0 if common == 0 else 2 * common / (len(pred) + len(gold))

    em = [max(float(_normal(p) == _normal(g)) for g in gs) for p, gs in zip(predictions, golds)]
    f = [max(f1(_normal(p), _normal(g)) for g in gs) for p, gs in zip(predictions, golds)]
    return {"exact_match": 100 * sum(em) / len(em), "f1": 100 * sum(f) / len(f)}


def answer(s: dict[str, Any]) -> None:
    """The QA run: train, decode and score the held-out questions, save, report (F1)."""
    import numpy as np
    import tensorflow as tf
    from transformers import AutoTokenizer, TFAutoModelForQuestionAnswering

    tf.keras.utils.set_random_seed(s["seed"])
    tokenizer = AutoTokenizer.from_pretrained(s["model_dir"])
    questions, held_out = read_squad(s["train_file"]), read_squad(s["test_file"])
    rows, _ = windows(tokenizer, questions, s)
    model = load_model(TFAutoModelForQuestionAnswering, s["model_dir"])
    ce = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def loss(b: dict) -> tf.Tensor:
        out = model({k: b[k] for k in INPUTS}, training=True)
        return (ce(b["start"], out.start_logits) + ce(b["end"], out.end_logits)) / 2

    clock = train(s, model.trainable_variables, loss, batches(rows, s["batch"], s["seed"], shuffle=True),
                  steps_of(len(rows), s))
    test_rows, where = windows(tokenizer, held_out, s)
    starts, ends = [], []
    for b in batches(test_rows, 4 * s["batch"], s["seed"], shuffle=False):
        out = model({k: b[k] for k in INPUTS}, training=False)
        starts += list(np.asarray(out.start_logits))
        ends += list(np.asarray(out.end_logits))
    scores = squad_scores(best_answers(held_out, where, starts, ends), [q["answers"] for q in held_out])
    model.save_pretrained(os.path.join(s["out"], "model"))  # the user keeps the trained model
    report(sum(clock.seconds), len(questions) * s["epochs"], scores["f1"], epoch_seconds=clock.seconds,
           exact_match=scores["exact_match"], train_windows=len(rows))
