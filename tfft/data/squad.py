"""SQuAD data layouts: the official nested JSON, and answers in every form they arrive in.

The official files nest ``data -> paragraphs -> qas``; flat tables (Hugging Face ``squad``,
CSV, JSON Lines) hold one question per row with ``answers = {"text": [...],
"answer_start": [...]}``, which CSV can only carry as a JSON string. Both become the same
rows here: ``id, title, context, question, answers``.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

from tfft.errors import TfftError


def is_squad_json(records: Sequence[Any]) -> bool:
    """True for the official layout: a list of articles, each with ``paragraphs``."""
    return bool(records) and isinstance(records[0], dict) and "paragraphs" in records[0]


def flatten_squad(articles: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per question of an official SQuAD v1.1 / v2.0 ``data`` list.

    A v2.0 question marked ``is_impossible`` gets no answers; its ``plausible_answers``
    (answers a crowd worker wrote before deciding there is none) are not answers, so they
    are dropped, as the official evaluation script does.
    """
    rows = []
    for article in articles:
        for paragraph in article.get("paragraphs", ()):
            for qa in paragraph.get("qas", ()):
                answers = [] if qa.get("is_impossible") else qa.get("answers", [])
                rows.append({"id": qa.get("id"), "title": article.get("title", ""),
                             "context": paragraph.get("context"), "question": qa.get("question"),
                             "answers": {"text": [a["text"] for a in answers],
                                         "answer_start": [a["answer_start"] for a in answers]}})
    return rows


def parse_answers(value: Any, where: str) -> tuple[list[str], list[int]]:
    """Answer texts and character starts from a dict, a JSON string, or a list of answer dicts.

    ``None`` / NaN / ``""`` mean no answer (a SQuAD v2.0 impossible question).

    Raises:
        TfftError: a value that is none of these, or texts and starts of different lengths.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return [], []
    if isinstance(value, str):
        if not value.strip():
            return [], []
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise TfftError(f"{where}: answers {value[:60]!r} are not JSON; write them as "
                            '{"text": ["..."], "answer_start": [17]}.') from None
    if isinstance(value, (list, tuple, np.ndarray)) and all(isinstance(a, dict) for a in value):
        value = {"text": [a.get("text") for a in value], "answer_start": [a.get("answer_start") for a in value]}
    if not isinstance(value, dict) or "text" not in value or "answer_start" not in value:
        raise TfftError(f"{where}: answers must be {{\"text\": [...], \"answer_start\": [...]}} "
                        f"(received {str(value)[:60]!r}).")
    texts, starts = list(value["text"]), list(value["answer_start"])
    if len(texts) != len(starts):
        raise TfftError(f"{where}: answers have {len(texts)} texts but {len(starts)} answer_start values.")
    try:
        return [str(t) for t in texts], [int(s) for s in starts]
    except (TypeError, ValueError):
        raise TfftError(f"{where}: answer_start must be integers (received {starts[:3]}).") from None
