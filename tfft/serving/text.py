"""In-graph tokenization for raw-text signatures: the HF fast tokenizer's ids, inside the SavedModel.

A BERT WordPiece tokenizer (``BertTokenizerFast``: BERT, DistilBERT, MiniLM, ...) is
rebuilt from its ``tokenizer.json`` with tensorflow-text ops. tensorflow-text's own BERT
normaliser folds case with NFKC (``ﬁ`` -> ``fi``, ``ß`` -> ``ss``, full-width letters to
ASCII), which Hugging Face does not, so the normalisation is spelled out here with the
exact steps of the ``tokenizers`` BertNormalizer:

1. clean text: ``\\t \\n \\r`` become spaces, other control/format characters (Unicode C*)
   and U+FFFD are removed, Unicode spaces become " ";
2. spaces around CJK ideographs, so each is a word;
3. (uncased) NFD and removal of combining marks (accents), then lowercasing;

then tensorflow-text's FastWordpiece splits on whitespace and punctuation and applies
WordPiece with the same vocabulary, ``##`` prefix and [UNK]. The parity test runs the
two over cased, accented, punctuated, CJK, emoji, over-long and empty texts. One known
difference: a word becomes [UNK] past ``max_input_chars_per_word`` (100) characters in
Hugging Face but 100 *bytes* here, so a word of 51-100 non-ASCII letters differs.

TF Serving's model server includes the tensorflow-text ops; a Python process loading the
export needs ``import tensorflow_text`` first.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import tensorflow as tf

from tfft.serving.layout import pair_middle_of, single_sequence

# Ranges of tokenizers' BertNormalizer ``is_chinese_char`` (CJK Unified Ideographs and extensions).
_CJK = ("[\\x{4E00}-\\x{9FFF}\\x{3400}-\\x{4DBF}\\x{20000}-\\x{2A6DF}\\x{2A700}-\\x{2B73F}"
        "\\x{2B740}-\\x{2B81F}\\x{2B820}-\\x{2CEAF}\\x{F900}-\\x{FAFF}\\x{2F800}-\\x{2FA1F}]")


def wordpiece_spec(tokenizer: Any) -> Optional[dict[str, Any]]:
    """The normaliser flags and WordPiece settings of a BERT-style fast tokenizer, or None."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    spec = json.loads(backend.to_str())
    normalizer, model = spec.get("normalizer") or {}, spec.get("model") or {}
    if normalizer.get("type") != "BertNormalizer" or model.get("type") != "WordPiece":
        return None
    lowercase = bool(normalizer.get("lowercase", True))
    strip = normalizer.get("strip_accents")
    return {"clean_text": bool(normalizer.get("clean_text", True)),
            "chinese": bool(normalizer.get("handle_chinese_chars", True)),
            "strip_accents": lowercase if strip is None else bool(strip), "lowercase": lowercase,
            "prefix": model.get("continuing_subword_prefix", "##"), "unk": model.get("unk_token", "[UNK]"),
            "max_chars": int(model.get("max_input_chars_per_word", 100))}


class TextEncoder(tf.Module):
    """Strings ``[batch]`` -> ``input_ids`` / ``attention_mask`` int32 ``[batch, longest]``, as the HF tokenizer gives."""

    uses_type_ids = True

    def __init__(self, tokenizer: Any, max_length: int, spec: dict[str, Any]) -> None:
        super().__init__(name="text_encoder")
        import tensorflow_text as tf_text

        vocab = [token for token, _ in sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])]
        self.spec = spec
        self.max_length = int(max_length)
        self.cls_id, self.sep_id = int(tokenizer.cls_token_id), int(tokenizer.sep_token_id)
        self.pad_id = int(tokenizer.pad_token_id or 0)
        # BERT: [CLS] A [SEP] B [SEP]; MPNet: <s> A </s></s> B </s>
        self.pair_middle = pair_middle_of(tokenizer, self.cls_id, self.sep_id) or (self.sep_id,)
        self.wordpiece = tf_text.FastBertTokenizer(
            vocab, suffix_indicator=spec["prefix"], unknown_token=spec["unk"], max_bytes_per_word=spec["max_chars"],
            token_out_type=tf.int32, lower_case_nfd_strip_accents=False)

    def normalize(self, texts: tf.Tensor) -> tf.Tensor:
        """The BertNormalizer steps (see the module docstring)."""
        import tensorflow_text as tf_text

        spec = self.spec
        if spec["clean_text"]:
            texts = tf.strings.regex_replace(texts, "[\\t\\n\\r]", " ")
            texts = tf.strings.regex_replace(texts, "[\\p{C}\\x{FFFD}]", "")
            texts = tf.strings.regex_replace(texts, "[\\p{Zs}\\x{2028}\\x{2029}]", " ")
        if spec["chinese"]:
            texts = tf.strings.regex_replace(texts, _CJK, " \\0 ")
        if spec["strip_accents"]:
            texts = tf.strings.regex_replace(tf_text.normalize_utf8(texts, "NFD"), "\\p{Mn}", "")
        if spec["lowercase"]:
            texts = tf.strings.lower(texts, encoding="utf-8")
        return texts

    def token_ids(self, texts: tf.Tensor, limit: int) -> tf.RaggedTensor:
        """WordPiece ids of each text without special tokens, cut to ``limit`` tokens."""
        pieces = self.wordpiece.tokenize(self.normalize(texts))  # [batch, (words), (pieces)] or [batch, (pieces)]
        return pieces.merge_dims(1, -1)[:, :limit]

    def token_ids_with_offsets(self, texts: tf.Tensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor, tf.RaggedTensor]:
        """WordPiece ids of each text (no special tokens) with each token's character span in the
        *original* text, ``[start, end)`` in Unicode code points, as the HF tokenizer's offsets.

        The normaliser is applied one character at a time (all its steps are per character), so
        each normalised byte is known to come from one original character; a token's byte span in
        the normalised text then maps back through the cumulative byte lengths.
        """
        chars = tf.strings.unicode_split(texts, "UTF-8")  # [batch, (chars)]
        pieces = chars.with_flat_values(self.normalize(chars.flat_values))
        ends = tf.cumsum(tf.strings.length(pieces), axis=1)  # normalised byte end of each character
        ids, byte_start, byte_end = self.wordpiece.tokenize_with_offsets(tf.strings.reduce_join(pieces, axis=1))
        if ids.shape.rank > 2:
            ids, byte_start, byte_end = (t.merge_dims(1, -1) for t in (ids, byte_start, byte_end))
        ends = ends.to_tensor(default_value=tf.int32.max if ends.dtype == tf.int32 else tf.int64.max)
        start = tf.searchsorted(ends, tf.cast(byte_start, ends.dtype).to_tensor(), side="right")
        end = tf.searchsorted(ends, tf.cast(byte_end - 1, ends.dtype).to_tensor(), side="right") + 1
        lengths = ids.row_lengths()
        return (ids, tf.RaggedTensor.from_tensor(tf.cast(start, tf.int32), lengths=lengths),
                tf.RaggedTensor.from_tensor(tf.cast(end, tf.int32), lengths=lengths))

    def __call__(self, texts: tf.Tensor) -> dict[str, tf.Tensor]:
        """``[CLS] text [SEP]`` ids padded to the batch's longest, with the attention mask."""
        return single_sequence(self, texts)


def text_encoder(tokenizer: Any, max_length: int) -> Optional[Any]:
    """An in-graph encoder matching ``tokenizer``: a :class:`TextEncoder` for BERT WordPiece, a
    :class:`tfft.serving.bpe.BpeEncoder` for RoBERTa byte-level BPE, a
    :class:`tfft.serving.sentencepiece.SentencePieceEncoder` for T5 SentencePiece, a
    :class:`tfft.serving.spm_text.SentencePieceTextEncoder` for ALBERT / XLM-R / DeBERTa-v2, else None."""
    from tfft.serving.bpe import bpe_encoder

    bpe = bpe_encoder(tokenizer, max_length)
    if bpe is not None:
        return bpe
    spec = wordpiece_spec(tokenizer)
    if spec is None:
        from tfft.serving.sentencepiece import sentencepiece_encoder
        from tfft.serving.spm_text import spm_text_encoder

        return sentencepiece_encoder(tokenizer, max_length) or spm_text_encoder(tokenizer, max_length)
    try:
        import tensorflow_text  # noqa: F401
    except ImportError:
        return None
    return TextEncoder(tokenizer, max_length, spec)
