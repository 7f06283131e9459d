"""The QA peer case's data: SQuAD-shaped train and held-out files (answerable questions).

Full runs read the SQuAD 2.0 excerpt's train file ``../shared/data/squad2_excerpt/train-v2.0.json``
(two Wikipedia articles, 1,450 answerable questions; the quality runs' copy,
:data:`benchmarks.quality.data.SQUAD_TRAIN`) where it exists, and never copy it into the repository: the files are written under
the benchmark's scratch directory. Paragraphs, not questions, are split, so no held-out
context was seen in training: every fourth paragraph is held out. Quick runs (CI), and full
runs without the excerpt, read the repository's own generated sample
(``examples/data/squad_sample/``, invented towns, people and companies).
"""

from __future__ import annotations

import json
import os
from typing import Any

from benchmarks.quality.data import SQUAD_TRAIN

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(REPO, "examples", "data", "squad_sample")


def _paragraphs(path: str) -> list[dict[str, Any]]:
    """Paragraphs of a SQuAD JSON file with their answerable questions only (v1.1 shape)."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    kept = []
    for article in data:
        for p in article["paragraphs"]:
            qas = [{"id": q["id"], "question": q["question"], "answers": q["answers"]}
                   for q in p["qas"] if q.get("answers") and not q.get("is_impossible")]
            if qas:
                kept.append({"context": p["context"], "qas": qas})
    return kept


def _take(paragraphs: list[dict[str, Any]], questions: int) -> list[dict[str, Any]]:
    """Whole paragraphs up to ``questions`` questions (the last one cut to fit)."""
    taken, left = [], questions
    for p in paragraphs:
        if left <= 0:
            break
        taken.append(dict(p, qas=p["qas"][:left]))
        left -= len(taken[-1]["qas"])
    return taken


def _write(path: str, paragraphs: list[dict[str, Any]]) -> str:
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"version": "1.1", "data": [{"title": "peers", "paragraphs": paragraphs}]}, f)
    return path


def source(quick: bool) -> str:
    """Where the questions come from: the excerpt (full runs, when present) or the sample."""
    return SQUAD_TRAIN if not quick and os.path.exists(SQUAD_TRAIN) else SAMPLE


def write(data_dir: str, train: int, test: int, quick: bool) -> dict[str, Any]:
    """``train_file`` and ``test_file`` (SQuAD JSON in ``data_dir``) of ``train`` and ``test``
    questions, and ``source``: the file or folder they were read from."""
    where = source(quick)
    if where == SAMPLE:
        train_paragraphs = _paragraphs(os.path.join(SAMPLE, "train.json"))
        test_paragraphs = _paragraphs(os.path.join(SAMPLE, "test.json")) + _paragraphs(
            os.path.join(SAMPLE, "validation.json"))
    else:
        everything = _paragraphs(where)
        test_paragraphs = everything[3::4]
        train_paragraphs = [p for i, p in enumerate(everything) if i % 4 != 3]
    return {"train_file": _write(os.path.join(data_dir, "train.json"), _take(train_paragraphs, train)),
            "test_file": _write(os.path.join(data_dir, "test.json"), _take(test_paragraphs, test)),
            "source": where}
