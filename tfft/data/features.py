"""Token-id features kept unpadded: one flat value array plus row splits per input.

A SQuAD-sized set (88k windows x 384 ids) is 135 MB as flat int32, against ~2.5 GB for
Python lists of ints; padding happens per batch in ``tfft.data.pipeline``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np

from tfft import progress


@dataclasses.dataclass
class Ragged:
    """Variable-length int32 rows stored as ``values`` and ``row_splits`` (like tf.RaggedTensor)."""

    values: np.ndarray
    row_splits: np.ndarray

    @classmethod
    def from_lists(cls, rows: Sequence[Sequence[int]]) -> "Ragged":
        """Packs a list of id lists."""
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        splits = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=splits[1:])
        values = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int32, count=int(splits[-1]))
        return cls(values, splits)

    @classmethod
    def concat(cls, parts: Iterable["Ragged"]) -> "Ragged":
        """Joins row-wise."""
        parts = list(parts)
        values = np.concatenate([p.values for p in parts]) if parts else np.zeros(0, np.int32)
        splits, offset = [np.zeros(1, np.int64)], 0
        for p in parts:
            splits.append(p.row_splits[1:] + offset)
            offset += int(p.row_splits[-1])
        return cls(values.astype(np.int32), np.concatenate(splits))

    def __len__(self) -> int:
        return len(self.row_splits) - 1

    def lengths(self) -> np.ndarray:
        """Length of each row."""
        return np.diff(self.row_splits)

    def row(self, i: int) -> np.ndarray:
        """Row ``i`` as an array."""
        return self.values[self.row_splits[i]:self.row_splits[i + 1]]

    def to_dense(self, fill: int = 0) -> np.ndarray:
        """``[rows, longest row]`` int32, each row padded at its end with ``fill``."""
        lengths = self.lengths()
        out = np.full((len(self), int(lengths.max(initial=0))), fill, dtype=np.int32)
        out[np.arange(out.shape[1]) < lengths[:, None]] = self.values  # row-major: rows in order
        return out

    def take(self, index: np.ndarray) -> "Ragged":
        """Rows at ``index``, in that order."""
        index = np.asarray(index, dtype=np.int64)
        lengths = self.lengths()[index]
        splits = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        # position of every output value in ``values``: its row's start plus its offset in the row
        starts = np.repeat(self.row_splits[:-1][index] - splits[:-1], lengths)
        return Ragged(self.values[starts + np.arange(splits[-1])], splits)


@dataclasses.dataclass
class Features:
    """Model inputs for one split, with labels and whatever post-processing needs.

    Attributes:
        inputs: Input name -> ragged token ids (e.g. ``input_ids``, ``token_type_ids``).
        labels: Label array(s): ``[n]`` class ids, ``[n, k]`` multi-hot, a dict of arrays, or
            :class:`Ragged` token ids (seq2seq targets, padded per batch).
        example_index: Feature -> row of the examples table (QA windows map many to one).
        extras: Task-specific per-feature arrays (offsets, ...), never fed to the model.
    """

    inputs: dict[str, Ragged]
    labels: Any = None
    example_index: Optional[np.ndarray] = None
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.inputs.values())))

    def lengths(self) -> np.ndarray:
        """Sequence length of each feature (that of its first input)."""
        return next(iter(self.inputs.values())).lengths()

    def shortest_first(self) -> np.ndarray:
        """Feature indices by length, shortest first (ties keep their order): batches of
        neighbours in this order pad little."""
        return np.argsort(self.lengths(), kind="stable")

    def take(self, index: np.ndarray) -> "Features":
        """The features at ``index``, in that order (inputs, labels, example index and extras)."""
        return Features(inputs={k: v.take(index) for k, v in self.inputs.items()}, labels=_take(self.labels, index),
                        example_index=_take(self.example_index, index),
                        extras={k: _take(v, index) for k, v in self.extras.items()})


def _take(value: Any, index: np.ndarray) -> Any:
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _take(v, index) for k, v in value.items()}
    return value.take(index) if isinstance(value, Ragged) else np.asarray(value)[index]


def fingerprint(*parts: Any) -> str:
    """A stable hash of strings, numbers and arrays (for cache keys)."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(np.ascontiguousarray(part).tobytes())
        elif isinstance(part, (list, tuple)):
            h.update(fingerprint(*part).encode())
        else:
            h.update(repr(part).encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:24]


def save(features: Features, path: str, n_examples: int) -> None:
    """Writes ragged inputs, array labels and array / ragged extras to ``path`` (.npz), atomically.

    ``n_examples`` (the rows the features were made from) is stored so a reader can tell a
    stale entry from a good one even when one example gave several features.
    """
    arrays: dict[str, np.ndarray] = {"n_examples": np.asarray(n_examples, np.int64)}
    for prefix, group in (("in", features.inputs), ("extra", features.extras)):
        for name, value in group.items():
            if isinstance(value, Ragged):
                arrays[f"{prefix}/{name}/values"], arrays[f"{prefix}/{name}/splits"] = value.values, value.row_splits
            else:
                arrays[f"{prefix}/{name}"] = np.asarray(value)
    if isinstance(features.labels, np.ndarray):
        arrays["labels"] = features.labels
    elif isinstance(features.labels, Ragged):  # sequence labels (seq2seq targets)
        arrays["labels/values"], arrays["labels/splits"] = features.labels.values, features.labels.row_splits
    if features.example_index is not None:
        arrays["example_index"] = features.example_index
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def load(path: str) -> tuple[Features, int]:
    """Reads what :func:`save` wrote: the features and the number of examples they came from."""
    with np.load(path) as data:
        groups: dict[str, dict[str, Any]] = {"in": {}, "extra": {}}
        for key in data.files:
            prefix, _, rest = key.partition("/")
            if prefix not in groups:
                continue
            name, _, part = rest.partition("/")
            if not part:
                groups[prefix][name] = data[key]
            elif part == "values":
                groups[prefix][name] = Ragged(data[key], data[f"{prefix}/{name}/splits"])
        labels = data["labels"] if "labels" in data.files else None
        if "labels/values" in data.files:
            labels = Ragged(data["labels/values"], data["labels/splits"])
        index = data["example_index"] if "example_index" in data.files else None
        n_examples = int(data["n_examples"]) if "n_examples" in data.files else -1
    inputs = dict(sorted(groups["in"].items()))
    return Features(inputs=inputs, labels=labels, example_index=index, extras=groups["extra"]), n_examples


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """Hash of a fast tokenizer's full definition (vocab, normaliser, special tokens)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    spec = backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))
    return fingerprint(type(tokenizer).__name__, spec)


# A text is cut to CHARS_PER_TOKEN characters per token of max_length before tokenizing: a
# 100 MB cell otherwise costs its full tokenization (13 GB and 7 minutes, measured) to keep
# 128 tokens. English runs ~4-5 characters a token; 100 leaves room for runs of spaces and
# markup, and for WordPiece's [UNK], which covers a whole word of up to 100 characters
# (max_input_chars_per_word). At max_length 512 that keeps 51,200 characters a text.
CHARS_PER_TOKEN = 100


def clip_text(text: str, max_length: int) -> str:
    """``text`` cut to ``max_length * CHARS_PER_TOKEN`` characters: far more than its first
    ``max_length`` tokens need, so the tokens kept are the same."""
    limit = max_length * CHARS_PER_TOKEN
    return text[:limit] if len(text) > limit else text


def input_notes(tokenizer: Any, texts: Sequence[str], max_length: int) -> dict[int, str]:
    """Per input (by position), what a prediction should say about it: empty, or cut at
    ``max_length`` tokens (tokenized to one more token to tell)."""
    notes = {i: "is empty: its prediction is the model's guess without any text"
             for i, text in enumerate(texts) if not str(text).strip()}
    lengths = encode_texts(tokenizer, list(texts), max_length + 1, report=False)["input_ids"].lengths()
    for i in np.flatnonzero(lengths > max_length):
        notes[int(i)] = (f"is longer than {max_length} tokens (--max_length): only its first {max_length} "
                         "tokens were read")
    return notes


def encode_texts(tokenizer: Any, texts: Sequence[str], max_length: int,
                 chunk: int = 2048, report: bool = True, **kwargs: Any) -> dict[str, Ragged]:
    """Tokenizes with the HF fast tokenizer in chunks; returns ragged ``input_ids`` (+ extras).

    ``kwargs`` pass through (``text_pair=...``, ``return_token_type_ids=True``). Chunking
    keeps the Python lists the tokenizer returns to ``chunk`` rows at a time. Each chunk counts
    toward the open tokenizing phase (:func:`tfft.progress.advance`) unless ``report`` is
    False (a second pass over the same examples, as seq2seq targets).
    """
    pairs: Mapping[str, Sequence[str]] = {k: v for k, v in kwargs.items() if k == "text_pair"}
    options = {k: v for k, v in kwargs.items() if k != "text_pair"}
    options.setdefault("return_attention_mask", False)
    options.setdefault("return_token_type_ids", False)
    parts: dict[str, list[Ragged]] = {}
    for start in range(0, len(texts), chunk):
        batch = {k: [clip_text(t, max_length) for t in v[start:start + chunk]] for k, v in pairs.items()}
        enc = tokenizer([clip_text(t, max_length) for t in texts[start:start + chunk]], truncation=True,
                        max_length=max_length,
                        **batch, **options)
        for name, rows in enc.items():
            parts.setdefault(name, []).append(Ragged.from_lists(rows))
        if report:
            progress.advance(min(chunk, len(texts) - start))
    if not parts:
        return {"input_ids": Ragged(np.zeros(0, np.int32), np.zeros(1, np.int64))}
    return {name: Ragged.concat(p) for name, p in parts.items()}
