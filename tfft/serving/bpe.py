"""In-graph byte-level BPE for RoBERTa-style exports: the HF fast tokenizer's ids and offsets, from TF ops.

A ``RobertaTokenizerFast`` (RoBERTa, GPT-2-style vocabularies: a ``ByteLevel`` pre-tokenizer,
a ``BPE`` model, the ``RobertaProcessing`` post-processor) is rebuilt from its
``tokenizer.json`` with TensorFlow and tensorflow-text ops only, so it runs in TF Serving:

1. ``add_prefix_space``: a space before a text that does not start with one;
2. pre-tokenization with the GPT-2 pattern. RE2 has no lookahead, so its ``\\s+(?!\\S)``
   (a whitespace run gives its last character to the word after it) is done in two splits:
   first into whitespace and other runs; a run followed by a word is cut before its last
   character, and that character, when it is a plain space, starts the word's chunk; then
   each chunk is split with the pattern without the lookahead;
3. each piece's UTF-8 bytes become the byte-level symbols' ids (a byte whose symbol is not in
   the vocabulary is the unknown token, or dropped when there is none, as Hugging Face does);
4. BPE: a ``tf.while_loop`` merges, in every piece at once, the lowest-ranked adjacent pair
   (all its non-overlapping occurrences, left to right) until no ranked pair is left. The
   pieces of a batch are made unique first (a batch of 32 reviews has ~4,000 pieces, ~600
   distinct);
5. offsets: each symbol carries its byte count, so a token's byte span is known and maps to
   code points of the original text; the post-processor's ``trim_offsets`` leaves leading and
   trailing spaces out, with its exception for the first token's added prefix space.

Special tokens written inside a text (``"<mask>"``) are tokenized as text here, while Hugging
Face turns them into the special token: the one known difference.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import tensorflow as tf

from tfft.serving.layout import single_sequence

# Unicode White_Space, the `\s` of the GPT-2 pattern as Hugging Face's regex engine reads it
# (RE2's `\s` is ASCII only).
_WS = "\\t\\n\\x0b\\f\\r \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
_WS_RUN = f"[{_WS}]+"
#: The GPT-2 pattern less ``\s+(?!\S)`` (done by :meth:`BpeEncoder.chunks`).
_PIECES = f"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{{L}}+| ?\\p{{N}}+| ?[^{_WS}\\p{{L}}\\p{{N}}]+|{_WS_RUN}"
_NO_RANK = tf.int64.max


def byte_symbols() -> list[str]:
    """The byte-level alphabet: ``symbols[b]`` is the printable character standing for byte ``b``.

    Printable Latin-1 bytes stand for themselves; the other 68 (controls, space, U+00A0, soft
    hyphen) take the code points from 256 on, in byte order, so a space is ``Ġ`` (U+0120).
    """
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    symbols, extra = {}, 256
    for b in range(256):
        if b in printable:
            symbols[b] = chr(b)
        else:
            symbols[b], extra = chr(extra), extra + 1
    return [symbols[b] for b in range(256)]


def bpe_spec(tokenizer: Any) -> Optional[dict[str, Any]]:
    """The settings of a byte-level BPE fast tokenizer with RoBERTa's layout, or None."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    spec = json.loads(backend.to_str())
    pre, model, post = (spec.get(k) or {} for k in ("pre_tokenizer", "model", "post_processor"))
    if (spec.get("normalizer") or pre.get("type") != "ByteLevel" or not pre.get("use_regex", True)
            or model.get("type") != "BPE" or model.get("dropout") or model.get("byte_fallback")
            or model.get("ignore_merges") or model.get("fuse_unk") or model.get("continuing_subword_prefix")
            or model.get("end_of_word_suffix") or post.get("type") != "RobertaProcessing"):
        return None
    merges = [m.split(" ") if isinstance(m, str) else m for m in model["merges"]]
    return {"vocab": model["vocab"], "merges": merges, "unk": model.get("unk_token"),
            "prefix_space": bool(pre.get("add_prefix_space", False)), "trim": bool(post.get("trim_offsets", True)),
            "trim_prefix_space": bool(post.get("add_prefix_space", False)),
            "cls": post["cls"][1], "sep": post["sep"][1]}


class BpeEncoder(tf.Module):
    """Strings ``[batch]`` -> ``input_ids`` / ``attention_mask`` int32 ``[batch, longest]`` as
    ``<s> text </s>``; pairs are ``<s> A </s></s> B </s>`` (:attr:`pair_middle`), without token types."""

    uses_type_ids = False

    def __init__(self, spec: dict[str, Any], max_length: int, pad_id: int) -> None:
        super().__init__(name="bpe_encoder")
        vocab: dict[str, int] = spec["vocab"]
        self.max_length, self.prefix_space = int(max_length), spec["prefix_space"]
        self.trim, self.trim_prefix_space = spec["trim"], spec["trim_prefix_space"]
        self.cls_id, self.sep_id, self.pad_id = int(spec["cls"]), int(spec["sep"]), int(pad_id)
        self.pair_middle = (self.sep_id, self.sep_id)
        self.width = max(vocab.values()) + 1  # pair key: left * width + right
        unk = vocab.get(spec["unk"], -1) if spec["unk"] else -1
        symbols = byte_symbols()
        self.bytes = _table([bytes([b]) for b in range(256)], [vocab.get(s, unk) for s in symbols], tf.string, -1)
        keys, values = [], []
        for rank, (left, right) in enumerate(spec["merges"]):
            keys.append(vocab[left] * self.width + vocab[right])
            values.append((rank << 32) | vocab[left + right])  # rank and the merged token's id, packed
        self.merges = _table(keys, values, tf.int64, -1)
        space = symbols[ord(" ")]
        by_id = {i: t for t, i in vocab.items()}
        tokens = [by_id.get(i, "") for i in range(self.width)]
        self.leading = tf.constant([len(t) - len(t.lstrip(space)) for t in tokens], tf.int32)
        self.trailing = tf.constant([len(t) - len(t.rstrip(space)) for t in tokens], tf.int32)

    def _prefixed(self, texts: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Texts with ``add_prefix_space`` applied, and how many characters were added to each (0/1)."""
        if not self.prefix_space:
            return texts, tf.zeros_like(texts, tf.int32)
        added = ~tf.strings.regex_full_match(texts, "| (?s:.)*")  # none before an empty text
        return tf.where(added, tf.strings.join([" ", texts]), texts), tf.cast(added, tf.int32)

    def chunks(self, texts: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Byte spans ``(row, start, end)`` of the chunks the lookahead-free pattern splits alike
        (see the module docstring, step 2)."""
        import tensorflow_text as tf_text

        runs, starts, ends = tf_text.regex_split_with_offsets(texts, _WS_RUN, _WS_RUN)
        s, e, rows = starts.flat_values, ends.flat_values, runs.value_rowids()
        is_ws = tf.strings.regex_full_match(runs.flat_values, _WS_RUN)
        position = tf.range(tf.size(s, out_type=tf.int64))
        last = tf.gather(runs.row_limits() - 1, rows)
        first = tf.gather(runs.row_starts(), rows)
        tail = tf.strings.substr(runs.flat_values, -1, 1, unit="UTF8_CHAR")
        cut_here = is_ws & (position < last)  # a whitespace run a word follows
        cut = e - tf.cast(tf.strings.length(tail), e.dtype)
        gives_space = cut_here & tf.equal(tail, " ")
        took_space = tf.concat([[False], gives_space[:-1]], 0) & (position > first)
        start_1 = tf.where(took_space, s - 1, s)
        end_1 = tf.where(cut_here, cut, e)
        valid = tf.stack([end_1 > start_1, cut_here & ~gives_space], axis=1)
        spans = tf.stack([tf.stack([start_1, end_1], 1), tf.stack([cut, e], 1)], axis=1)
        return (tf.boolean_mask(tf.stack([rows, rows], 1), valid), *tf.unstack(tf.boolean_mask(spans, valid), axis=1))

    def pieces(self, texts: tf.Tensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor]:
        """Pre-tokenized pieces ``[batch, (pieces)]`` (strings) and their byte starts in ``texts``."""
        import tensorflow_text as tf_text

        # tensorflow-text's regex_split stops at a NUL byte: split a copy where NUL is \x01 (also a
        # control character, one byte), then cut the pieces out of the original
        masked = tf.strings.regex_replace(texts, "\\x00", "\x01")
        rows, start, end = self.chunks(masked)
        chunk = tf.strings.substr(tf.gather(masked, rows), start, end - start)
        _, piece_start, piece_end = tf_text.regex_split_with_offsets(chunk, _PIECES, _PIECES)
        piece_rows = tf.gather(rows, piece_start.value_rowids())
        flat_start = piece_start.flat_values + tf.gather(start, piece_start.value_rowids())
        flat_end = piece_end.flat_values + tf.gather(start, piece_start.value_rowids())
        pieces = tf.strings.substr(tf.gather(texts, piece_rows), flat_start, flat_end - flat_start)
        nrows = tf.shape(texts, out_type=tf.int64)[0]
        return (tf.RaggedTensor.from_value_rowids(pieces, piece_rows, nrows),
                tf.RaggedTensor.from_value_rowids(flat_start, piece_rows, nrows))

    def bpe(self, words: tf.Tensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor]:
        """Token ids ``[words, (tokens)]`` of each piece, and each token's byte count."""
        symbols = tf.ragged.map_flat_values(self.bytes.lookup, tf.strings.bytes_split(words))
        symbols = tf.ragged.boolean_mask(symbols, symbols >= 0)  # no unknown token: the byte is dropped
        ids, lengths = symbols.flat_values, symbols.row_lengths()
        loop = tf.while_loop(lambda ids, sizes, lengths, again: again, self._merge_step,
                             (ids, tf.ones_like(ids), lengths, tf.constant(True)),
                             shape_invariants=(tf.TensorShape([None]),) * 3 + (tf.TensorShape([]),))
        ids, sizes, lengths, _ = loop
        return tf.RaggedTensor.from_row_lengths(ids, lengths), tf.RaggedTensor.from_row_lengths(sizes, lengths)

    def _merge_step(self, ids: tf.Tensor, sizes: tf.Tensor, lengths: tf.Tensor,
                    _: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        """One merge in every word: its lowest-ranked pair, every non-overlapping occurrence."""
        words = tf.RaggedTensor.from_row_lengths(ids, lengths)
        left = words[:, :-1]
        row = left.value_rowids()
        at = tf.range(tf.size(left.flat_values, out_type=tf.int64)) - tf.gather(left.row_starts(), row)
        symbol = tf.gather(words.row_starts(), row) + at  # flat index of each pair's left symbol
        packed = self.merges.lookup(left.flat_values * self.width + words[:, 1:].flat_values)
        rank = tf.where(packed >= 0, tf.bitwise.right_shift(packed, 32), _NO_RANK)
        best = tf.gather(tf.math.unsorted_segment_min(rank, row, tf.size(lengths)), row)
        candidate = (rank == best) & (rank < _NO_RANK)
        # runs of the same pair ("a a a"): merge the 1st, 3rd, ... occurrence, as a left-to-right scan
        run_start = candidate & ~(tf.concat([[False], candidate[:-1]], 0) & (at > 0))
        run = tf.cumsum(tf.cast(run_start, tf.int64)) - 1
        run_first = tf.concat([tf.boolean_mask(symbol, run_start), [0]], 0)  # [0]: valid index when no pair is left
        from_start = symbol - tf.gather(run_first, tf.maximum(run, 0))
        chosen = candidate & (from_start % 2 == 0)
        picked = tf.boolean_mask(symbol, chosen)[:, None]
        n = tf.size(ids, out_type=tf.int64)[None]
        merged = tf.scatter_nd(picked, tf.ones_like(picked[:, 0], tf.bool), n)
        absorbed = tf.scatter_nd(picked + 1, tf.ones_like(picked[:, 0], tf.bool), n)
        new_id = tf.scatter_nd(picked, tf.boolean_mask(tf.bitwise.bitwise_and(packed, 0xFFFFFFFF), chosen), n)
        right_size = tf.concat([sizes[1:], [0]], 0)
        ids = tf.boolean_mask(tf.where(merged, new_id, ids), ~absorbed)
        sizes = tf.boolean_mask(tf.where(merged, sizes + right_size, sizes), ~absorbed)
        lengths = lengths - tf.math.unsorted_segment_sum(tf.cast(chosen, tf.int64), row, tf.size(lengths))
        return ids, sizes, lengths, tf.reduce_any(chosen)

    def _tokens(self, texts: tf.Tensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor, tf.RaggedTensor]:
        """Ids ``[batch, (tokens)]`` with each token's byte span in ``texts``."""
        pieces, starts = self.pieces(texts)
        unique, index = tf.unique(pieces.flat_values, out_idx=tf.int64)
        ids, sizes = (tf.gather(t, index) for t in self.bpe(unique))  # [pieces, (tokens)]
        ends = tf.cumsum(sizes, axis=1) + tf.expand_dims(starts.flat_values, 1)
        rebatch = pieces.with_flat_values  # [batch, (pieces), (tokens)] -> [batch, (tokens)]
        return tuple(rebatch(t).merge_dims(1, 2) for t in (ids, ends - sizes, ends))

    def token_ids(self, texts: tf.Tensor, limit: int) -> tf.RaggedTensor:
        """BPE ids of each text without special tokens, cut to ``limit`` tokens."""
        texts, _ = self._prefixed(texts)
        return tf.cast(self._tokens(texts)[0], tf.int32)[:, :limit]

    def token_ids_with_offsets(self, texts: tf.Tensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor, tf.RaggedTensor]:
        """BPE ids of each text (no special tokens) and each token's ``[start, end)`` in code
        points of the original text, as the HF tokenizer's ``offset_mapping``."""
        prefixed, added = self._prefixed(texts)
        ids, byte_start, byte_end = self._tokens(prefixed)
        ends = tf.cumsum(tf.strings.length(tf.strings.unicode_split(prefixed, "UTF-8")), axis=1)  # byte end per char
        ends = tf.cast(ends, tf.int64).to_tensor(default_value=tf.int64.max)
        shift = tf.cast(added, tf.int64)[:, None]
        start = tf.maximum(tf.searchsorted(ends, byte_start.to_tensor(), side="right", out_type=tf.int64) - shift, 0)
        end = tf.searchsorted(ends, byte_end.to_tensor() - 1, side="right", out_type=tf.int64)
        end = tf.maximum(end + 1 - shift, 0)
        start, end = (tf.RaggedTensor.from_tensor(tf.cast(t, tf.int32), lengths=ids.row_lengths()) for t in (start, end))
        ids = tf.cast(ids, tf.int32)
        return (ids, *self._trimmed(ids, start, end)) if self.trim else (ids, start, end)

    def _trimmed(self, ids: tf.RaggedTensor, start: tf.RaggedTensor,
                 end: tf.RaggedTensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor]:
        """``trim_offsets``: spans without the tokens' leading and trailing spaces."""
        lead, trail = (tf.ragged.map_flat_values(tf.gather, table, ids) for table in (self.leading, self.trailing))
        if self.trim_prefix_space:  # the first token keeps one leading space: the one added
            first = (tf.ragged.range(ids.row_lengths()) == 0) | (start == 0)
            lead = tf.where(first & (lead == 1), tf.zeros_like(lead), lead)
        start = tf.minimum(start + lead, end)
        end = tf.where(end >= trail, tf.maximum(end - trail, start), end)
        return start, end

    def __call__(self, texts: tf.Tensor) -> dict[str, tf.Tensor]:
        """``<s> text </s>`` ids padded to the batch's longest, with the attention mask."""
        return single_sequence(self, texts)


def _table(keys: list, values: list, key_dtype: tf.DType, default: int) -> tf.lookup.StaticHashTable:
    initializer = tf.lookup.KeyValueTensorInitializer(tf.constant(keys, key_dtype), tf.constant(values, tf.int64))
    return tf.lookup.StaticHashTable(initializer, default_value=default)


def bpe_encoder(tokenizer: Any, max_length: int) -> Optional[BpeEncoder]:
    """An in-graph encoder for a byte-level BPE tokenizer with RoBERTa's layout, or None."""
    spec = bpe_spec(tokenizer)
    if spec is None:
        return None
    try:
        import tensorflow_text  # noqa: F401
    except ImportError:
        return None
    return BpeEncoder(spec, max_length, tokenizer.pad_token_id or 0)
