"""In-graph SentencePiece for T5 exports: strings -> the HF tokenizer's ids, generated ids -> its text.

A T5 tokenizer is a SentencePiece model (``spiece.model``); ``tf_text.SentencepieceTokenizer``
runs the same file inside the SavedModel. Hugging Face's fast tokenizer is a conversion of
that file, and conversions can drift (a missing word-start ``▁``, whitespace runs), so
:func:`sentencepiece_encoder` tokenizes a probe corpus both ways when the export is made
and returns None (no raw-text signature: ``serving_default`` stays on token ids) if any
ids differ.

Decoding mirrors ``tokenizer.batch_decode(ids, skip_special_tokens=True,
clean_up_tokenization_spaces=True)`` followed by ``str.strip()``: special ids (pad, eos,
unk, ...) are dropped, the pieces joined, and Hugging Face's clean-up rules (`` .`` ->
``.`` ...) applied in its order.
"""

from __future__ import annotations

from typing import Any, Optional

import tensorflow as tf

#: Hugging Face's ``clean_up_tokenization``, in its order: (regex, replacement).
_CLEAN_UP = ((" \\.", "."), (" \\?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
             (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"))

#: Texts the export checks the in-graph ids on (case, accents, punctuation, CJK, emoji,
#: whitespace runs, control characters, compatibility forms, empty).
PROBE = ("Hello, World!", "question: Who founded Oslo? context: Ada Weber founded it in 1624.",
         "Café déjà vu — naïve façade", "東京は晴れ。", "I ❤️ NLP 🤖!!", "", "   ", "a\tb\nc  d",
         "ＦＵＬＬ ｗｉｄｔｈ ﬁne", "don't won't 10/10 (50%)", "\u200bzero\u200bwidth", "Straße İstanbul")


class SentencePieceEncoder(tf.Module):
    """Strings ``[batch]`` -> ``input_ids`` / ``attention_mask`` int32 ``[batch, longest]`` (ids then
    ``</s>``, cut to ``max_length``), and generated ids -> text (:meth:`decode`)."""

    def __init__(self, model_proto: bytes, max_length: int, eos_id: int, pad_id: int,
                 special_ids: list[int]) -> None:
        super().__init__(name="sentencepiece_encoder")
        import tensorflow_text as tf_text

        self.sentencepiece = tf_text.SentencepieceTokenizer(model=model_proto, out_type=tf.int32)
        self.max_length = int(max_length)
        self.eos_id, self.pad_id = int(eos_id), int(pad_id)
        self.special_ids = tf.constant(sorted(set(special_ids)), tf.int32)

    def __call__(self, texts: tf.Tensor) -> dict[str, tf.Tensor]:
        ids = self.sentencepiece.tokenize(texts)[:, :self.max_length - 1]
        ids = tf.concat([ids, tf.fill([ids.nrows(), 1], self.eos_id)], axis=1)
        return {"input_ids": ids.to_tensor(default_value=self.pad_id),
                "attention_mask": tf.ones_like(ids).to_tensor(default_value=0)}

    def decode(self, ids: tf.Tensor) -> tf.Tensor:
        """``[batch, length]`` generated ids -> ``[batch]`` text, special tokens left out."""
        keep = tf.reduce_all(ids[:, :, None] != self.special_ids[None, None, :], axis=-1)
        text = self.sentencepiece.detokenize(tf.ragged.boolean_mask(ids, keep))
        for pattern, replacement in _CLEAN_UP:
            text = tf.strings.regex_replace(text, pattern, replacement)
        return tf.strings.strip(text)


def sentencepiece_encoder(tokenizer: Any, max_length: int) -> Optional[SentencePieceEncoder]:
    """An in-graph encoder for a T5 SentencePiece tokenizer whose ids it reproduces on
    :data:`PROBE`, or None."""
    path = getattr(tokenizer, "vocab_file", None)
    if "T5Tokenizer" not in type(tokenizer).__name__ or not path:
        return None
    try:
        import tensorflow_text  # noqa: F401

        with open(path, "rb") as f:
            encoder = SentencePieceEncoder(f.read(), max_length, tokenizer.eos_token_id, tokenizer.pad_token_id or 0,
                                           tokenizer.all_special_ids)
    except (ImportError, OSError):
        return None
    expected = tokenizer(list(PROBE), truncation=True, max_length=max_length)["input_ids"]
    got = encoder(tf.constant(PROBE))
    lengths = tf.reduce_sum(got["attention_mask"], axis=1).numpy()
    ids = got["input_ids"].numpy()
    if any(row[:n].tolist() != want for row, n, want in zip(ids, lengths, expected)):
        return None
    return encoder
