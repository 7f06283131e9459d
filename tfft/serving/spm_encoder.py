"""The in-graph encoder of :mod:`tfft.serving.spm_text`: normaliser steps, SentencePiece, the fast
tokenizer's ids and its character offsets.

Offsets follow the fast tokenizer's alignments, which differ from SentencePiece's own in three
places (each character is classed by what the model's charsmap makes of it: a space, nothing,
or content):

- a token that starts with ``▁`` starts at the *last* space before its first content character
  (Hugging Face collapses a run of spaces into its last one; SentencePiece keeps the first);
- the word start SentencePiece adds to the first word has no characters; Hugging Face gives it
  the space before the text when there is one (and the normaliser does not strip it), else the
  first character;
- characters the charsmap deletes at the end of a token are not part of it (SentencePiece
  counts them in the token before).
"""

from __future__ import annotations

import re
from typing import Any

import tensorflow as tf

SENTINEL = "\ue000"  # appended to each text (ALBERT), a user-defined piece of the embedded model
_PAD = "\ue001"  # pads a literal replacement to its pattern's length, removed after the steps
_NUL = "\ue002"  # stands in for NUL while tf.strings.lower runs (it stops at a NUL character)
#: Unicode White_Space, what the fast tokenizer's ``Strip`` removes.
_WHITE_SPACE = "[\\t-\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}]"


class SentencePieceTextEncoder(tf.Module):
    """Strings ``[batch]`` -> the fast tokenizer's ``input_ids`` / ``attention_mask`` (/ ``token_type_ids``)
    int32 ``[batch, longest]``, with the encoder interface of :class:`tfft.serving.text.TextEncoder`."""

    def __init__(self, spec: dict[str, Any], model_proto: bytes, pieces: list[str], tokenizer: Any,
                 max_length: int) -> None:
        super().__init__(name="sentencepiece_text_encoder")
        import tensorflow_text as tf_text

        vocab, unk = tokenizer.get_vocab(), int(tokenizer.unk_token_id)
        self.id_map = tf.constant([vocab.get(piece, unk) for piece in pieces], tf.int32)
        self.word_start = tf.constant([piece.startswith("▁") for piece in pieces])
        self.lone_space = tf.constant([piece == "▁" for piece in pieces])
        self.sentencepiece = tf_text.SentencepieceTokenizer(model=model_proto, out_type=tf.int32)
        self.steps, self.trailing_space, self.left_strip = spec["steps"], spec["trailing_space"], spec["left_strip"]
        self.space, self.deleted = spec["space_class"], spec["deleted_class"]
        layout = spec["layout"]
        self.prefix, self.suffix = tuple(layout["prefix"]), tuple(layout["suffix"])
        self.pair_middle = tuple(int(i) for i in layout["pair_middle"])
        self.cls_id, self.sep_id = int(self.prefix[0]), int(self.suffix[0])
        self.pad_id = int(tokenizer.pad_token_id or 0)
        self.uses_type_ids = "token_type_ids" in tokenizer.model_input_names
        self.max_length = int(max_length)

    def normalize(self, texts: tf.Tensor, replaced: bool = False) -> tf.Tensor:
        """The fast tokenizer's normaliser steps before the charsmap. ``replaced``: the literal
        replacements were applied already (:meth:`replace`)."""
        import tensorflow_text as tf_text

        if not replaced:
            texts = self.replace(texts)
        for step in self.steps:
            if step[0] == "form":
                texts = tf_text.normalize_utf8(texts, step[1])
            elif step[0] == "strip_marks":
                texts = tf.strings.regex_replace(texts, "\\p{M}", "")
            elif step[0] == "lower":
                texts = tf.strings.lower(tf.strings.regex_replace(texts, "\\x00", _NUL), encoding="utf-8")
                texts = tf.strings.regex_replace(texts, "\\x{E002}", "\x00")
        return tf.strings.regex_replace(texts, "\\x{E001}", "")

    def replace(self, texts: tf.Tensor) -> tf.Tensor:
        """Literal replacements, the content at the end of the match and the match's other characters
        ``_PAD`` (removed by :meth:`normalize`), so every character keeps its position and the
        content takes the match's last character, as Hugging Face aligns it."""
        for step in self.steps:
            if step[0] == "replace":
                _, pattern, content = step
                texts = tf.strings.regex_replace(texts, re.escape(pattern),
                                                 _PAD * (len(pattern) - len(content)) + content)
        return texts

    def pieces(self, normalized: tf.Tensor, texts: tf.Tensor) -> tuple[tf.RaggedTensor, ...]:
        """SentencePiece ids (its own numbering) with byte offsets into ``normalized``."""
        if not self.trailing_space:
            return self.sentencepiece.tokenize_with_offsets(normalized)
        ids, start, end = (t[:, :-1] for t in self.sentencepiece.tokenize_with_offsets(normalized + SENTINEL))
        # a text with no content and no space: SentencePiece's word start alone, Hugging Face gives nothing
        space = f"[\\s\\p{{Z}}{self.space}]"
        lone = (ids.row_lengths() == 1) & tf.logical_not(tf.strings.regex_full_match(texts, f"(?s).*{space}.*"))
        keep = ids.with_flat_values(tf.logical_not(tf.gather(lone, ids.value_rowids())))
        return tuple(tf.ragged.boolean_mask(t, keep) for t in (ids, start, end))

    def token_ids(self, texts: tf.Tensor, limit: int) -> tf.RaggedTensor:
        """The fast tokenizer's ids of each text without special tokens, cut to ``limit`` tokens."""
        ids, _, _ = self.pieces(self.normalize(texts), texts)
        return tf.gather(self.id_map, ids)[:, :limit]

    def token_ids_with_offsets(self, texts: tf.Tensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor, tf.RaggedTensor]:
        """Ids (no special tokens) with each token's ``[start, end)`` in Unicode code points of the
        original text, as the fast tokenizer's ``offset_mapping`` (see the module docstring)."""
        replaced = self.replace(texts)
        chars = tf.strings.unicode_split(replaced, "UTF-8")
        per_char = chars.with_flat_values(self.normalize(chars.flat_values, True))
        ids, byte_start, byte_end = self.pieces(self.normalize(replaced, True), texts)
        ends = tf.cumsum(tf.strings.length(per_char), axis=1)
        dense = ends.to_tensor(default_value=tf.int32.max if ends.dtype == tf.int32 else tf.int64.max)
        byte_start, byte_end = (tf.cast(t, dense.dtype).to_tensor() for t in (byte_start, byte_end))
        start = tf.cast(tf.searchsorted(dense, byte_start, side="right"), tf.int32)
        end = tf.cast(tf.searchsorted(dense, byte_end - 1, side="right") + 1, tf.int32)
        start, end = self._align(per_char, ids, start, end, byte_end > byte_start, texts)
        lengths = ids.row_lengths()
        start, end = (tf.RaggedTensor.from_tensor(t, lengths=lengths) for t in (start, end))
        return tf.gather(self.id_map, ids), start, end

    def _align(self, per_char: tf.RaggedTensor, ids: tf.RaggedTensor, start: tf.Tensor, end: tf.Tensor,
               nonempty: tf.Tensor, texts: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """SentencePiece's character spans moved to Hugging Face's (the module docstring's rules)."""
        chars = per_char.flat_values
        both = f"{self.space}{self.deleted}"
        space = per_char.with_flat_values(tf.strings.regex_full_match(chars, f"[{both}]*[{self.space}][{both}]*"))
        gone = per_char.with_flat_values(tf.strings.regex_full_match(chars, f"[{self.deleted}]*"))
        n = tf.cast(per_char.row_lengths(), tf.int32)
        stripped = tf.zeros_like(n)
        if self.left_strip:
            stripped = tf.strings.length(tf.strings.regex_replace(texts, f"^({_WHITE_SPACE}*)(?s:.*)$", "\\1"),
                                         unit="UTF8_CHAR")
        position = tf.ragged.range(n)
        content = _next(tf.ragged.boolean_mask(position, ~(space | gone)), n, start)
        space = space.to_tensor(False)

        def space_at(index: tf.Tensor) -> tf.Tensor:  # a space the normaliser kept
            return (index >= stripped[:, None]) & _take(space, index)

        lone = tf.gather(self.lone_space, ids).to_tensor(False)
        word_start = tf.gather(self.word_start, ids).to_tensor(False) & nonempty
        first = tf.minimum(content, end)
        start_at = tf.where(word_start, first - tf.cast(space_at(first - 1), tf.int32), start)
        kept = _sorted(tf.ragged.boolean_mask(position, ~gone))
        last_kept = _take(kept, tf.searchsorted(kept, end, side="left") - 1)
        end_at = tf.where(last_kept >= start_at, last_kept + 1, end)
        end_at = tf.where(~lone & (content >= end), content + 1, end_at)  # its characters come from the next one's
        # an empty span: SentencePiece's word start before the first word (the space before it, else the
        # first character), or a piece inside one character's expansion (that character)
        dummy = lone & (tf.range(tf.shape(start)[1])[None, :] == 0)
        after_space = dummy & space_at(start - 1)
        start = tf.where(nonempty, start_at, tf.where(after_space, start - 1, start))
        end = tf.where(nonempty, end_at, start + 1)
        return start, end

    def __call__(self, texts: tf.Tensor) -> dict[str, tf.Tensor]:
        """``prefix text suffix`` ids (``[CLS] text [SEP]``, ``<s> text </s>``) padded to the batch's longest."""
        ids = self.token_ids(texts, self.max_length - len(self.prefix) - len(self.suffix))
        batch = ids.nrows()
        ids = tf.concat([tf.tile(tf.constant([self.prefix], tf.int32), [batch, 1]), ids,
                         tf.tile(tf.constant([self.suffix], tf.int32), [batch, 1])], axis=1)
        out = {"input_ids": ids.to_tensor(default_value=self.pad_id),
               "attention_mask": tf.ones_like(ids).to_tensor(default_value=0)}
        if self.uses_type_ids:
            out["token_type_ids"] = tf.zeros_like(out["input_ids"])
        return out


def _sorted(positions: tf.RaggedTensor) -> tf.Tensor:
    """Ascending positions per row, padded with int32 max (for searchsorted)."""
    return positions.to_tensor(default_value=tf.int32.max)


def _take(values: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    """``values[row, index[row, k]]``, an index outside the row giving the padding value."""
    values = tf.pad(values, [[0, 0], [0, 1]], constant_values=tf.zeros([], values.dtype))
    return tf.gather(values, tf.clip_by_value(index, 0, tf.shape(values)[1] - 1), batch_dims=1)


def _next(positions: tf.RaggedTensor, n: tf.Tensor, query: tf.Tensor) -> tf.Tensor:
    """The first of ``positions`` at or after each ``query``, or the row's length ``n``."""
    dense = _sorted(tf.concat([positions, tf.expand_dims(n, 1)], axis=1))
    return _take(dense, tf.searchsorted(dense, query, side="left"))
