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
4. ids map through the fast tokenizer's vocabulary: ALBERT's and DeBERTa-v2's are the
   SentencePiece ids; XLM-R's have the fairseq offset (``<s>`` 0, ``<pad>`` 1, ``</s>`` 2,
   ``<unk>`` 3 for SentencePiece's own unknown, every other piece +1). The special tokens come
   from its ``TemplateProcessing`` (``[CLS] A [SEP]`` / ``<s> A </s>``; between a pair's texts
   ``pair_middle``: ``[SEP]`` / ``</s></s>``); type ids are 0 for one text;
5. ALBERT's normaliser keeps a trailing space, which its Metaspace makes a last ``▁`` token
   (``"hello "`` ends in ``▁``, ``"   "`` is ``[▁]``): a sentinel piece appended to the text keeps
   SentencePiece from stripping it, and is dropped after tokenization;
6. character offsets: SentencePiece's byte spans, mapped back through the per-character
   normaliser steps and moved to Hugging Face's alignments (:mod:`tfft.serving.spm_encoder`).

:func:`spm_text_encoder` tokenizes a probe corpus both ways when the export is made and returns
None (the export keeps its ids signature, ``tfft.json`` says why: :func:`why_not`) on any
difference. The parity tests run ids, masks, type ids, pairs and offsets over the hostile corpus
(case, accents, CJK, emoji, control and format characters, whitespace runs, empty, over-long).
Known differences:

- segmentations of equal score: the two Viterbi searches break ties differently (``!!!`` with
  pieces ``!`` and ``!!``: Hugging Face ``! !!``, SentencePiece ``!! !``); the probe catches it
  only if it holds such a text;
- special-token strings typed in the text (``[MASK]``, ``<s>``) are that one token for Hugging
  Face, text here;
- the characters the charsmap turns into spaces or deletes (which the offsets need) are listed
  from the Basic Multilingual Plane only; other planes' characters count as content;
- offsets around a character the charsmap deletes (``\\x07``): after a space (``"a \\x07b"``)
  the next word starts at the deleted character here, at the space in Hugging Face; at the start
  of a text Hugging Face shifts every later offset by one, this does not;
- DeBERTa strips Unicode White_Space before the charsmap, so a text ending in a character the
  charsmap makes a space (U+200B, U+FEFF, U+FFFD) ends in a ``▁`` token there, not here;
- BPE SentencePiece models, ``split_by_punct`` (DeBERTa), byte fallback and normaliser steps
  other than the ones above are not reproduced (no encoder, with the reason).
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any, Optional

import tensorflow as tf

from tfft.serving.spm_encoder import SENTINEL, SentencePieceTextEncoder

_FORMS = {"NFC", "NFD", "NFKC", "NFKD"}


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
    charsmap = [s.get("precompiled_charsmap") for s in normalizer_list(spec) if s.get("type") == "Precompiled"]
    space, deleted = charsmap_classes(charsmap[0] if charsmap else "")
    return {"path": path, "steps": steps, "vocab": model["vocab"], "layout": layout, "space_class": space,
            "deleted_class": deleted, "trailing_space": not any(s[0] == "strip_right" for s in steps),
            "left_strip": any(s.get("type") == "Strip" and s.get("strip_left") for s in normalizer_list(spec))}, ""


def normalizer_list(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps of a tokenizer.json normaliser (a Sequence or one step)."""
    normalizer = spec.get("normalizer") or {}
    return normalizer.get("normalizers", [normalizer] if normalizer else [])


@functools.lru_cache(maxsize=8)
def charsmap_classes(charsmap: str) -> tuple[str, str]:
    """Regex class bodies of the Basic Multilingual Plane characters the charsmap (base64, as in
    tokenizer.json) turns into spaces, and into nothing (0.1 s; other planes are taken as content)."""
    from tokenizers import normalizers

    if not charsmap:
        return " ", "\\x{E001}"
    normalizer = normalizers.Precompiled(base64.b64decode(charsmap))
    space, deleted = [], []
    for code in range(0x10000):
        if 0xD800 <= code < 0xE000:
            continue
        out = normalizer.normalize_str(chr(code))
        (deleted if out == "" else space if out.strip(" ") == "" else []).append(code)
    return _ranges(space), _ranges(deleted + [0xE001])


def _ranges(codes: list[int]) -> str:
    """Code points as a regex class body of ranges: ``\\x{9}-\\x{A}\\x{20}``."""
    parts, codes = [], sorted(codes)
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        parts.append(f"\\x{{{codes[i]:X}}}" + (f"-\\x{{{codes[j]:X}}}" if j > i else ""))
        i = j + 1
    return "".join(parts)


def _normaliser_steps(normalizer: dict[str, Any]) -> tuple[Optional[list[tuple]], str]:
    """The steps before the charsmap as (op, args...), and after it only what SentencePiece does itself."""
    steps: list[tuple] = []
    seen_charsmap = False
    for step in normalizer_list({"normalizer": normalizer}):
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
    if single.count("A") != 1 or pair.count("A") != 1 or pair.count("B") != 1 or single[0] == "A" or \
            single[-1] == "A":
        return None, "its template is not one text between special tokens (as [CLS] A [SEP])"
    a, b = pair.index("A"), pair.index("B")
    return {"prefix": single[:single.index("A")], "suffix": single[single.index("A") + 1:],
            "pair_middle": pair[a + 1:b]}, ""


def patched_model(path: str, vocab: list[list[Any]]) -> tuple[bytes, list[str]]:
    """The SentencePiece model with the fast tokenizer's scores and the sentinel as a user-defined
    piece, and its pieces in id order."""
    from sentencepiece import sentencepiece_model_pb2

    with open(path, "rb") as f:
        proto = sentencepiece_model_pb2.ModelProto.FromString(f.read())
    scores = {piece: score for piece, score in vocab}
    for piece in proto.pieces:
        if piece.piece in scores:
            piece.score = scores[piece.piece]
    proto.pieces.add(piece=SENTINEL, score=0.0, type=sentencepiece_model_pb2.ModelProto.SentencePiece.USER_DEFINED)
    return proto.SerializeToString(), [p.piece for p in proto.pieces]


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

        proto, pieces = patched_model(spec["path"], spec["vocab"])
        encoder = SentencePieceTextEncoder(spec, proto, pieces, tokenizer, max_length)
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
