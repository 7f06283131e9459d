"""Question/context pairs -> overlapping token windows, span labels and character offsets.

A context longer than one window is cut into windows that share ``doc_stride`` tokens, so
an answer near a window edge lies whole inside the next one. Each window is
``[CLS] question [SEP] context-part [SEP]`` (the context comes first for tokenizers that
pad on the left, as XLNet's). Per window tfft keeps, beside the model inputs:

- ``offset_start`` / ``offset_end``: each token's character span in its context, -1 for
  question, special and padding tokens, so decoding can only pick context tokens;
- ``cls_index``: where the [CLS] token is (the "no answer" position);
- ``example_index`` (on :class:`Features`): the example the window came from.

Training labels are the first answer's start and end tokens, or ``cls_index`` twice when
the answer is not wholly inside the window (or the question has none).
"""

from __future__ import annotations

import itertools
from typing import Any, Sequence

import numpy as np
import pandas as pd

from tfft import progress
from tfft.data.features import Features, Ragged
from tfft.errors import TfftError

# Tokenizing 1,000 questions at a time keeps the tokenizer's Python lists (ids, offsets and
# sequence ids of ~1,200 windows) to tens of MB for SQuAD, whatever the size of the split.
CHUNK = 1000


def input_names(tokenizer: Any) -> tuple[str, ...]:
    """Model inputs: ids and mask, plus ``token_type_ids`` for models that use them (BERT, not DistilBERT)."""
    extra = ("token_type_ids",) if "token_type_ids" in tokenizer.model_input_names else ()
    return ("input_ids", "attention_mask") + extra


def window_features(tokenizer: Any, examples: pd.DataFrame, max_length: int, doc_stride: int) -> Features:
    """Windows of every example's ``question`` and ``context`` (plus span labels when the
    examples have ``answer_texts`` / ``answer_starts``).

    Raises:
        TfftError: a question leaves no room for context, or ``doc_stride`` does not fit a window.
    """
    if not len(examples):
        raise TfftError("No questions to answer: the examples are empty.")
    check_room(tokenizer, examples, max_length, doc_stride)
    parts = [_encode_chunk(tokenizer, examples.iloc[start:start + CHUNK], start, max_length, doc_stride)
             for start in range(0, len(examples), CHUNK)]
    ragged = {name: Ragged.concat(p[name] for p in parts)
              for name in ("input_ids", "token_type_ids", "offset_start", "offset_end") if name in parts[0]}
    index = np.concatenate([p["example_index"] for p in parts]).astype(np.int32)
    cls_index = np.concatenate([p["cls_index"] for p in parts]).astype(np.int32)
    inputs = {n: ragged[n] for n in ("input_ids", "token_type_ids") if n in ragged}
    extras = {"offset_start": ragged["offset_start"], "offset_end": ragged["offset_end"], "cls_index": cls_index}
    features = Features(inputs=inputs, example_index=index, extras=extras)
    if "answer_texts" in examples:
        features.labels = span_labels(features, examples)
    return features


def dense_inputs(features: Features, pad_id: int) -> dict[str, np.ndarray]:
    """The windows as the model takes them: int32 rows padded to the longest, with the attention mask."""
    inputs = {name: r.to_dense(pad_id if name == "input_ids" else 0) for name, r in features.inputs.items()}
    width = inputs["input_ids"].shape[1]
    inputs["attention_mask"] = (np.arange(width) < features.lengths()[:, None]).astype(np.int32)
    return inputs


def check_room(tokenizer: Any, examples: pd.DataFrame, max_length: int, doc_stride: int) -> None:
    """Every window must hold some context, and consecutive windows must advance.

    With ``max_length`` 384, a 20-token question and 3 special tokens, a window has room for
    361 context tokens; a ``doc_stride`` (overlap) of 361 or more would never move on.
    """
    questions = tokenizer(list(examples["question"]), add_special_tokens=False, return_attention_mask=False,
                          return_token_type_ids=False)["input_ids"]
    lengths = np.fromiter((len(q) for q in questions), dtype=np.int64, count=len(questions))
    longest = int(lengths.argmax())
    room = max_length - int(lengths[longest]) - tokenizer.num_special_tokens_to_add(pair=True)
    if room < 1:
        raise TfftError(f"Question {examples['id'].iloc[longest] if 'id' in examples else longest!r} has "
                        f"{lengths[longest]} tokens, which leaves no room for context in --max_length={max_length} "
                        "(it must exceed the question's tokens plus the special tokens); shorten the question "
                        "or raise --max_length.")
    if doc_stride >= room:
        raise TfftError(f"--doc_stride={doc_stride} must be smaller than the context room of a window: --max_length="
                        f"{max_length} minus the longest question ({lengths[longest]} tokens) and special tokens "
                        f"leaves {room}; pass --doc_stride={max(room // 2, 1)} or raise --max_length.")


def _encode_chunk(tokenizer: Any, chunk: pd.DataFrame, first_row: int, max_length: int,
                  doc_stride: int) -> dict[str, Any]:
    """Windows of one chunk of examples, as ragged arrays."""
    pad_right = tokenizer.padding_side == "right"
    questions, contexts = list(chunk["question"]), list(chunk["context"])
    pair = (questions, contexts) if pad_right else (contexts, questions)
    enc = tokenizer(*pair, truncation="only_second" if pad_right else "only_first", max_length=max_length,
                    stride=doc_stride, return_overflowing_tokens=True, return_offsets_mapping=True,
                    return_attention_mask=False, return_token_type_ids="token_type_ids" in input_names(tokenizer))
    windows = len(enc["input_ids"])
    context_id = 1 if pad_right else 0
    sequence = np.fromiter((-1 if s is None else s for i in range(windows) for s in enc.sequence_ids(i)),
                           dtype=np.int8)
    offsets = np.fromiter(itertools.chain.from_iterable(itertools.chain.from_iterable(enc["offset_mapping"])),
                          dtype=np.int32, count=2 * len(sequence)).reshape(-1, 2)
    in_context = sequence == context_id
    ids = Ragged.from_lists(enc["input_ids"])
    out: dict[str, Any] = {
        "input_ids": ids,
        "offset_start": Ragged(np.where(in_context, offsets[:, 0], -1).astype(np.int32), ids.row_splits),
        "offset_end": Ragged(np.where(in_context, offsets[:, 1], -1).astype(np.int32), ids.row_splits),
        "example_index": np.asarray(enc["overflow_to_sample_mapping"], np.int64) + first_row,
        "cls_index": np.asarray([_cls_position(row, tokenizer.cls_token_id) for row in enc["input_ids"]]),
    }
    if "token_type_ids" in enc:
        out["token_type_ids"] = Ragged.from_lists(enc["token_type_ids"])
    progress.advance(len(chunk))  # toward the open tokenizing phase, if any
    return out


def _cls_position(row: Sequence[int], cls_id: Any) -> int:
    try:
        return row.index(cls_id)
    except ValueError:  # a tokenizer without [CLS]: position 0 stands for "no answer"
        return 0


def span_labels(features: Features, examples: pd.DataFrame) -> np.ndarray:
    """``[windows, 2]`` start / end token of each window's answer, or its ``cls_index`` twice."""
    labels = np.repeat(features.extras["cls_index"][:, None], 2, axis=1).astype(np.int32)
    texts, starts = examples["answer_texts"].to_numpy(), examples["answer_starts"].to_numpy()
    offset_start, offset_end = features.extras["offset_start"], features.extras["offset_end"]
    for w, row in enumerate(features.example_index):
        if not len(texts[row]):
            continue
        first_char = int(starts[row][0])
        token = token_span(offset_start.row(w), offset_end.row(w), first_char, first_char + len(texts[row][0]))
        if token is not None:
            labels[w] = token
    return labels


def token_span(starts: np.ndarray, ends: np.ndarray, first_char: int, end_char: int) -> tuple[int, int] | None:
    """The first and last context token covering characters ``[first_char, end_char)``, or
    None when those characters are not all inside this window's context tokens."""
    context = np.flatnonzero(starts >= 0)
    if not len(context) or starts[context[0]] > first_char or ends[context[-1]] < end_char:
        return None
    first = context[np.searchsorted(starts[context], first_char, side="right") - 1]
    last = context[np.searchsorted(ends[context], end_char, side="left")]
    return int(first), int(last)
