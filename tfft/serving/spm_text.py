"""In-graph SentencePiece for encoder exports (ALBERT, XLM-RoBERTa, DeBERTa-v2/v3): the HF fast tokenizer's ids.

The model's own SentencePiece file runs inside the SavedModel (``tf_text.SentencepieceTokenizer``);
what the Hugging Face fast tokenizer does on top of it is read from its ``tokenizer.json`` and
spelled out in TF ops, so one encoder covers the three families:

1. the normaliser steps before the SentencePiece charsmap (``Precompiled``): ALBERT's
   ``\\`\\``` / ``''`` -> ``"``, NFKD and removal of combining marks (unless ``keep_accents``),
   lowercasing (``do_lower_case``; DeBERTa's too). Unicode forms, ``Lowercase``, ``StripAccents``,
   ``Strip`` and literal ``Replace`` steps are reproduced; any other step gives no encoder;
2. the charsmap, the whitespace collapse and the word-start ``▁`` are SentencePiece's own;
3. the Unigram scores are the fast tokenizer's, written into the embedded model (ALBERT lowers
   pieces such as ``9,`` by 100 in its conversion);
4. ids map through the fast tokenizer's vocabulary (XLM-R's fairseq offset: ``<s>`` 0, ``<pad>``
   1, ``</s>`` 2, ``<unk>`` 3, every other piece +1), and the special tokens come from its
   ``TemplateProcessing`` (``[CLS] A [SEP]`` / ``<s> A </s>``, pairs ``A [SEP] B`` / ``A </s></s> B``);
5. ALBERT's normaliser keeps a trailing space, which its Metaspace makes a last ``▁`` token
   (``"hello "`` ends in ``▁``, ``"   "`` is ``[▁]``): a sentinel piece appended to the text keeps
   SentencePiece from stripping it, and is dropped after tokenization.

:func:`spm_text_encoder` tokenizes a probe corpus both ways when the export is made and returns
None (the export keeps its ids signature) on any difference. Known differences:

- segmentations of equal score: the two Viterbi searches break ties differently (``!!!`` with
  pieces ``!`` and ``!!``: Hugging Face ``! !!``, SentencePiece ``!! !``);
- special-token strings typed in the text (``[MASK]``, ``<s>``) are that token for Hugging Face
  but text here;
- a text made only of characters the normaliser deletes (``"\\u200b"``) is one ``▁`` token
  here, none in Hugging Face (ALBERT);
- BPE SentencePiece models, ``split_by_punct`` (DeBERTa) and byte fallback are not reproduced.
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional

import tensorflow as tf

_SENTINEL = "\ue000"  # a private-use character, added to the model as a user-defined piece
_FORMS = {"NFC", "NFD", "NFKC", "NFKD"}
_WHITESPACE = "[\\s\\p{Z}\\x{85}]"


def spm_spec(tokenizer: Any) -> tuple[Optional[dict[str, Any]], str]:
    """What the in-graph encoder needs from a SentencePiece-converted fast tokenizer, or (None, why not)."""
    path, backend = getattr(tokenizer, "vocab_file", None), getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not path:
        return None, "it has no SentencePiece model file (vocab_file) beside its tokenizer.json"
    spec = json.loads(backend.to_str())
    model, pre = spec.get("model") or {}, spec.get("pre_tokenizer") or {}
    if model.get("type") != "Unigram" or model.get("byte_fallback"):
        return None, f"its model is {model.get('type')} (byte fallback {model.get('byte_fallback')}), not Unigram"
    metaspace = [p for p in pre.get("pretokenizers", [pre])]
    if len(metaspace) != 1 or metaspace[0].get("type") != "Metaspace" or metaspace[0].get("prepend_scheme") != "always":
        return None, "its pre-tokenizer is not Metaspace with a word start on every word (split_by_punct?)"
    steps, reason = _normaliser_steps(spec.get("normalizer") or {})
    if steps is None:
        return None, reason
    layout, reason = _layout(spec.get("post_processor") or {}, tokenizer)
    if layout is None:
        return None, reason
    return {"path": path, "steps": steps, "vocab": model["vocab"], "layout": layout,
            "trailing_space": not any(s[0] == "strip_right" for s in steps)}, ""


def _normaliser_steps(normalizer: dict[str, Any]) -> tuple[Optional[list[tuple]], str]:
    """The steps before the charsmap as (op, args...), and after it only what SentencePiece does itself."""
    steps: list[tuple] = []
    seen_charsmap = False
    for step in normalizer.get("normalizers", [normalizer] if normalizer else []):
        kind = step.get("type")
        if kind == "Precompiled":
            seen_charsmap = True
        elif kind == "Replace" and seen_charsmap and step["content"] in (" ", "▁") and \
                step["pattern"].get("Regex") == " {2,}":
            continue  # SentencePiece collapses whitespace runs itself
        elif kind == "Strip":
            steps += [("strip_right",)] if step.get("strip_right") else []  # SentencePiece strips both ends
        elif seen_charsmap:
            return None, f"its normaliser has a {kind} step after the SentencePiece charsmap"
        elif kind == "Replace" and "String" in step["pattern"] and len(step["content"]) <= len(step["pattern"]["String"]):
            steps.append(("replace", step["pattern"]["String"], step["content"]))
        elif kind in _FORMS:
            steps.append(("form", kind))
        elif kind == "StripAccents":
            steps.append(("strip_marks",))
        elif kind == "Lowercase":
            steps.append(("lower",))
        else:
            return None, f"its normaliser has a {kind} step that the graph does not reproduce"
    return steps, ""


def _layout(post: dict[str, Any], tokenizer: Any) -> tuple[Optional[dict[str, Any]], str]:
    """Special ids around one text and between two, from a TemplateProcessing post-processor."""
    if post.get("type") != "TemplateProcessing":
        return None, f"its post-processor is {post.get('type')}, not a template"

    def parts(template: list[dict]) -> list[Any]:
        return [item["Sequence"]["id"] if "Sequence" in item else
                tokenizer.convert_tokens_to_ids(item["SpecialToken"]["id"]) for item in template]

    single, pair = parts(post["single"]), parts(post["pair"])
    if single.count("A") != 1 or pair.count("A") != 1 or pair.count("B") != 1:
        return None, "its template is not one text between special tokens"
    a, b = pair.index("A"), pair.index("B")
    return {"prefix": single[:single.index("A")], "suffix": single[single.index("A") + 1:],
            "pair_middle": pair[a + 1:b]}, ""


def patched_model(path: str, vocab: list[list[Any]]) -> bytes:
    """The SentencePiece model with the fast tokenizer's scores and the sentinel as a user-defined piece."""
    from sentencepiece import sentencepiece_model_pb2

    with open(path, "rb") as f:
        proto = sentencepiece_model_pb2.ModelProto.FromString(f.read())
    scores = {piece: score for piece, score in vocab}
    for piece in proto.pieces:
        if piece.piece in scores:
            piece.score = scores[piece.piece]
    proto.pieces.add(piece=_SENTINEL, score=0.0, type=sentencepiece_model_pb2.ModelProto.SentencePiece.USER_DEFINED)
    return proto.SerializeToString()


class SentencePieceTextEncoder(tf.Module):
    """Strings ``[batch]`` -> the fast tokenizer's ``input_ids`` / ``attention_mask`` (/ ``token_type_ids``)
    int32 ``[batch, longest]``, with the encoder interface of :class:`tfft.serving.text.TextEncoder`."""

    def __init__(self, spec: dict[str, Any], tokenizer: Any, max_length: int) -> None:
        super().__init__(name="sentencepiece_text_encoder")
        import tensorflow_text as tf_text
        from sentencepiece import sentencepiece_model_pb2

        proto = patched_model(spec["path"], spec["vocab"])
        pieces = [p.piece for p in sentencepiece_model_pb2.ModelProto.FromString(proto).pieces]
        vocab = tokenizer.get_vocab()
        unk = int(tokenizer.unk_token_id)
        self.id_map = tf.constant([vocab.get(piece, unk) for piece in pieces[:-1]] + [-1], tf.int32)
        self.space_id = pieces.index("▁") if "▁" in pieces else -1
        self.sentencepiece = tf_text.SentencepieceTokenizer(model=proto, out_type=tf.int32)
        self.steps, self.trailing_space = spec["steps"], spec["trailing_space"]
        layout = spec["layout"]
        self.prefix, self.suffix = tuple(layout["prefix"]), tuple(layout["suffix"])
        self.pair_middle = tuple(int(i) for i in layout["pair_middle"])
        self.cls_id, self.sep_id = int(self.prefix[0]), int(self.suffix[0])
        self.pad_id = int(tokenizer.pad_token_id or 0)
        self.uses_type_ids = "token_type_ids" in tokenizer.model_input_names
        self.max_length = int(max_length)

    def normalize(self, texts: tf.Tensor, replaced: bool = False) -> tf.Tensor:
        """The fast tokenizer's normaliser steps before the charsmap (see the module docstring).
        ``replaced``: the literal replacements were applied already (:meth:`_replace`)."""
        import tensorflow_text as tf_text

        if not replaced:
            texts = self._replace(texts)
        for step in self.steps:
            if step[0] == "form":
                texts = tf_text.normalize_utf8(texts, step[1])
            elif step[0] == "strip_marks":
                texts = tf.strings.regex_replace(texts, "\\p{M}", "")
            elif step[0] == "lower":
                # tf.strings.lower stops at a NUL character: NUL waits aside as U+E002
                texts = tf.strings.lower(tf.strings.regex_replace(texts, "\\x00", "\ue002"), encoding="utf-8")
                texts = tf.strings.regex_replace(texts, "\\x{E002}", "\x00")
        return tf.strings.regex_replace(texts, "\\x{E001}", "")

    def _replace(self, texts: tf.Tensor) -> tf.Tensor:
        """Literal replacements, padded with U+E001 to the pattern's length (so characters keep their
        positions; :meth:`normalize` removes the padding)."""
        for step in self.steps:
            if step[0] == "replace":
                _, pattern, content = step
                texts = tf.strings.regex_replace(texts, re.escape(pattern),
                                                 content + "\ue001" * (len(pattern) - len(content)))
        return texts

    def _pieces(self, normalized: tf.Tensor, texts: tf.Tensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor,
                                                                          tf.RaggedTensor]:
        """SentencePiece ids (its own numbering) with byte offsets into ``normalized``."""
        if not self.trailing_space:
            return self.sentencepiece.tokenize_with_offsets(normalized)
        ids, start, end = (t[:, :-1] for t in self.sentencepiece.tokenize_with_offsets(normalized + _SENTINEL))
        # an (almost) empty text: SentencePiece's word start alone, but Hugging Face gives nothing
        lone = (ids.row_lengths() == 1) & tf.logical_not(tf.strings.regex_full_match(texts, f".*{_WHITESPACE}.*"))
        keep = ids.with_flat_values(tf.logical_not(tf.gather(lone, ids.value_rowids())))
        return tuple(tf.ragged.boolean_mask(t, keep) for t in (ids, start, end))

    def token_ids(self, texts: tf.Tensor, limit: int) -> tf.RaggedTensor:
        """The fast tokenizer's ids of each text without special tokens, cut to ``limit`` tokens."""
        ids, _, _ = self._pieces(self.normalize(texts), texts)
        return tf.gather(self.id_map, ids)[:, :limit]

    def token_ids_with_offsets(self, texts: tf.Tensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor, tf.RaggedTensor]:
        """Ids (no special tokens) with each token's ``[start, end)`` in Unicode code points of the
        original text, as the fast tokenizer's ``offset_mapping``."""
        replaced = self._replace(texts)
        chars = tf.strings.unicode_split(replaced, "UTF-8")
        ends = tf.cumsum(tf.strings.length(chars.with_flat_values(self.normalize(chars.flat_values, True))), axis=1)
        ids, byte_start, byte_end = self._pieces(self.normalize(replaced, True), texts)
        big = tf.int32.max if ends.dtype == tf.int32 else tf.int64.max
        dense = ends.to_tensor(default_value=big)
        byte_start, byte_end = (tf.cast(t, dense.dtype).to_tensor() for t in (byte_start, byte_end))
        start = tf.searchsorted(dense, byte_start, side="right")
        end = tf.searchsorted(dense, byte_end - 1, side="right") + 1
        end = tf.where(byte_end > byte_start, end, start)  # an empty span (SentencePiece's word start)
        lengths = ids.row_lengths()
        start, end = (tf.RaggedTensor.from_tensor(tf.cast(t, tf.int32), lengths=lengths) for t in (start, end))
        return tf.gather(self.id_map, ids), start, end

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


def spm_text_encoder(tokenizer: Any, max_length: int) -> Optional[SentencePieceTextEncoder]:
    """An in-graph encoder for an ALBERT / XLM-R / DeBERTa-v2 style fast tokenizer that reproduces
    its ids on :data:`PROBE`, or None (:func:`why_not` says why)."""
    return _build(tokenizer, max_length)[0]


def why_not(tokenizer: Any, max_length: int) -> str:
    """Why :func:`spm_text_encoder` gives no encoder for ``tokenizer`` ("" when it gives one)."""
    return _build(tokenizer, max_length)[1]


def _build(tokenizer: Any, max_length: int) -> tuple[Optional[SentencePieceTextEncoder], str]:
    spec, reason = spm_spec(tokenizer)
    if spec is None:
        return None, reason
    try:
        import tensorflow_text  # noqa: F401

        encoder = SentencePieceTextEncoder(spec, tokenizer, max_length)
    except ImportError:
        return None, "tensorflow-text is not installed"
    except Exception as err:  # noqa: BLE001  (an unreadable or foreign model file)
        return None, f"its SentencePiece file could not be used ({type(err).__name__}: {err})"
    expected = tokenizer(list(PROBE), truncation=True, max_length=max_length)["input_ids"]
    got = encoder(tf.constant(PROBE))
    lengths = tf.reduce_sum(got["attention_mask"], axis=1).numpy()
    for text, row, n, want in zip(PROBE, got["input_ids"].numpy(), lengths, expected):
        if row[:n].tolist() != want:
            return None, f"the in-graph ids differ from the tokenizer's on the probe text {text[:30]!r}"
    return encoder, ""


#: Texts the export checks the in-graph ids on.
PROBE = ("Hello, World!", "Café déjà vu — naïve façade", "ÀÉÎ Ünïcödé ÑANDÚ İstanbul ΣΑΣ", "東京は晴れ。", "I ❤️ NLP 🤖!",
         "", "   ", " lead", "trail  ", "a\tb\nc  d", "ＦＵＬＬ ｗｉｄｔｈ ﬁne", "``quoted'' 1, 2, 9,000", "\u200bzero\u200bwidth",
         "Straße ǅemal", "hindi हिन्दी", "x" * 120)
