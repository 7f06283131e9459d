"""Validating question answering examples: one clear error or a counted note per problem.

Every split becomes a table of ``id, question, context`` (and ``answer_texts``,
``answer_starts`` when it has answers). Problems and what happens to them:

- a missing column: error, listing the columns found;
- an empty question or context: the row is dropped and counted;
- duplicate ids: error (predictions are keyed by id);
- an unanswerable question (no answers) for a v1.1 task: error, use squad_v2;
- an ``answer_start`` that does not point at its answer text: training questions whose
  first answer is wrong are dropped and counted (their span label would be wrong);
  evaluation keeps them (scoring compares texts only); ``--strict`` makes it an error.
"""

from __future__ import annotations

from typing import Any, Optional

import pandas as pd

from tfft.data import readers
from tfft.data.squad import parse_answers
from tfft.errors import TfftError


def prepare_examples(cfg: Any, frame: pd.DataFrame, split: str, version_2: Optional[bool]) -> tuple[pd.DataFrame, list[str]]:
    """Validated examples of one split; ``version_2=None`` reads no answers (predict input).

    Raises:
        TfftError: see the module docstring.
    """
    columns = {cfg.question_column: "question_column", cfg.context_column: "context_column"}
    if version_2 is not None:
        columns[cfg.answers_column] = "answers_column"
    readers.require_columns(frame, list(columns), split, columns)
    notes: list[str] = []
    out = pd.DataFrame({"question": frame[cfg.question_column].map(_text).str.lstrip(),
                        "context": frame[cfg.context_column].map(_text)})
    if cfg.id_column and cfg.id_column in frame.columns:
        out.insert(0, "id", frame[cfg.id_column].map(str))
    else:
        out.insert(0, "id", [str(i) for i in range(len(frame))])
        if version_2 is not None:
            notes.append(f"{split}: no '{cfg.id_column}' column; questions are numbered from 0")
    keep = (out["question"].str.strip() != "") & (out["context"].str.strip() != "")
    if not keep.any():
        raise TfftError(f"The {split} data has no row with both a question and a context ({len(frame)} rows); "
                        f"check --question_column and --context_column.")
    if not keep.all():
        notes.append(f"{split}: dropped {int((~keep).sum())} rows with an empty question or context")
    out = out[keep]
    _check_unique_ids(out["id"], split)
    if version_2 is not None:
        out, more = _with_answers(out, frame.loc[out.index, cfg.answers_column], split, version_2, cfg.strict)
        notes += more
    return out, notes


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def _check_unique_ids(ids: pd.Series, split: str) -> None:
    repeated = ids[ids.duplicated()].unique()
    if len(repeated):
        shown = ", ".join(repr(i) for i in repeated[:5]) + (" ..." if len(repeated) > 5 else "")
        raise TfftError(f"The {split} data repeats question ids {shown} ({len(repeated)} ids); predictions are "
                        "keyed by id, so give every question its own id.")


def _with_answers(out: pd.DataFrame, answers: pd.Series, split: str, version_2: bool,
                  strict: bool) -> tuple[pd.DataFrame, list[str]]:
    """Adds ``answer_texts`` / ``answer_starts``; checks them against the contexts."""
    texts, starts = [], []
    for qid, value in zip(out["id"], answers):
        pairs = zip(*parse_answers(value, f"The {split} data, question {qid!r}"))
        kept = [(t, s) for t, s in pairs if t != ""]  # "" is how some files spell "no answer"
        texts.append([t for t, _ in kept])
        starts.append([s for _, s in kept])
    out = out.assign(answer_texts=texts, answer_starts=starts)
    unanswerable = int((out["answer_texts"].map(len) == 0).sum())
    if unanswerable and not version_2:
        raise TfftError(f"The {split} data has {unanswerable} questions without an answer (SQuAD v2.0 data), "
                        "which this SQuAD v1.1 task cannot learn; use --task=squad_v2 or --version_2_with_negative.")
    notes = [f"{split}: {unanswerable} of {len(out)} questions have no answer"] if unanswerable else []
    # Training learns the first answer's span only; evaluation scores against every answer.
    bad = [(i, _mismatch(row, split == "train")) for i, row in enumerate(out.itertuples(index=False))]
    bad = [(i, problem) for i, problem in bad if problem]
    if bad and strict:
        raise TfftError(f"The {split} data: {bad[0][1]} ({len(bad)} such questions); fix answer_start, or drop "
                        "--strict to skip them.")
    if bad and split == "train":
        out = out.drop(index=out.index[[i for i, _ in bad]])
        notes.append(f"train: skipped {len(bad)} questions whose answer_start does not point at the answer "
                     f"(first: {bad[0][1]})")
    elif bad:
        notes.append(f"{split}: {len(bad)} questions have an answer_start that does not point at the answer "
                     f"(kept: scoring compares texts; first: {bad[0][1]})")
    return out, notes


def _mismatch(row: Any, first_only: bool) -> str:
    """What is wrong with the first misplaced answer of a question ("" when none is)."""
    count = 1 if first_only else len(row.answer_texts)
    for text, start in zip(row.answer_texts[:count], row.answer_starts[:count]):
        if row.context[start:start + len(text)] == text and start >= 0:
            continue
        where = row.context.find(text)
        found = f"the text occurs at {where}" if where >= 0 else "the text does not occur in the context"
        return (f"question {row.id!r} has answer_start {start} pointing at "
                f"{row.context[max(start, 0):max(start, 0) + len(text)]!r}, not at its answer {text!r} ({found})")
    return ""
