"""Synthetic extractive QA data for the tests: filler contexts with one span of sentiment words."""

import json
import random

import pandas as pd

from conftest import FILLER, NEGATIVE, POSITIVE

SPAN_WORDS = POSITIVE + NEGATIVE  # the answer: the run of sentiment words in a context of filler
QUESTION = "what is it ?"


def qa_row(rng: random.Random, qid: str, words: int = 45) -> dict:
    """A context of filler words with one run of 1-3 sentiment words, which is the answer."""
    filler = rng.choices(FILLER, k=words)
    at = rng.randint(0, len(filler))
    answer = " ".join(rng.sample(SPAN_WORDS, rng.randint(1, 3)))
    before = " ".join(filler[:at])
    context = " ".join(p for p in (before, answer, " ".join(filler[at:])) if p)
    return {"id": qid, "question": QUESTION, "context": context,
            "answers": {"text": [answer], "answer_start": [len(before) + 1 if before else 0]}}


def qa_rows(n: int, seed: int, words: tuple[int, int] = (30, 60)) -> list[dict]:
    rng = random.Random(seed)
    return [qa_row(rng, f"q{seed}-{i}", rng.randint(*words)) for i in range(n)]


def write_jsonl(path, rows) -> str:
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return str(path)


def write_squad_json(path, rows, impossible=()) -> str:
    """The official nested layout, one paragraph per question; ids in ``impossible`` get no answer."""
    articles = []
    for r in rows:
        no_answer = r["id"] in impossible
        answers = [] if no_answer else [{"text": t, "answer_start": s}
                                        for t, s in zip(r["answers"]["text"], r["answers"]["answer_start"])]
        qa = {"id": r["id"], "question": r["question"], "answers": answers, "is_impossible": no_answer,
              "plausible_answers": [{"text": "the", "answer_start": 0}] if no_answer else []}
        articles.append({"title": "t", "paragraphs": [{"context": r["context"], "qas": [qa]}]})
    path.write_text(json.dumps({"version": "v2.0", "data": articles}))
    return str(path)


def as_examples(rows) -> pd.DataFrame:
    return pd.DataFrame({"id": [r["id"] for r in rows], "question": [r["question"] for r in rows],
                         "context": [r["context"] for r in rows],
                         "answer_texts": [r["answers"]["text"] for r in rows],
                         "answer_starts": [r["answers"]["answer_start"] for r in rows]})
