"""Models trained from scratch: ``--model=tiny-t5`` (offline demos and tests).

No pretrained T5 can be installed here, so the T5 demo starts from random weights: a
SentencePiece Unigram tokenizer (``spiece.model``, as a real T5's) is built from the
training file's text cells, then a 2+2-layer T5 with that vocabulary is initialised from the
run's seed and written in ``save_pretrained`` layout under the cache directory. From then
on it is an ordinary local model directory; a run saves it (tokenizer included) in its
``model/`` directory, which predict and export then use.
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterable

from tfft.errors import TfftError
from tfft.io import replace_dir

#: T5 sizes of the scratch models. tiny-t5: d_model 128, 2 encoder + 2 decoder layers,
#: 0.69M parameters with the demo's ~270-piece vocabulary (embeddings are tied).
SCRATCH_MODELS: dict[str, dict[str, Any]] = {
    "tiny-t5": {"d_model": 128, "d_ff": 256, "d_kv": 32, "num_heads": 4, "num_layers": 2,
                "num_decoder_layers": 2, "relative_attention_num_buckets": 16, "dropout_rate": 0.1},
}
VOCAB_SIZE = 1000
SPECIAL_TOKENS = ["<pad>", "</s>", "<unk>"]  # T5's ids: pad 0 (also the decoder start), eos 1, unk 2


def is_scratch(name: str | None) -> bool:
    """True for a model name that is built from scratch rather than loaded."""
    return name in SCRATCH_MODELS


def train_unigram_tokenizer(texts: Iterable[str], directory: str, vocab_size: int = VOCAB_SIZE) -> Any:
    """A T5 tokenizer (SentencePiece Unigram model, ``▁`` word starts, ``</s>`` appended) for ``texts``.

    The pieces are the ``vocab_size`` most frequent words of ``texts`` (punctuation split
    off) plus every character seen, scored by log frequency, so a known word is one piece
    and anything else still tokenizes, character by character. (The EM Unigram trainers of
    ``tokenizers`` and ``sentencepiece`` leave frequent short words such as "does" in
    characters on small repetitive corpora like the demo's, which makes every input three
    times longer.) The pieces are written as a SentencePiece model, ``<directory>/spiece.model``
    (NFKC normalisation, as T5's), and wrapped as ``T5TokenizerFast``, so the same file
    tokenizes in the exported graph (``tf_text.SentencepieceTokenizer``).

    Example:
        >>> tok = train_unigram_tokenizer(["the cat sat.", "the dog ran"] * 20, "/tmp/tok")
        >>> tok.convert_ids_to_tokens(tok("the cat.")["input_ids"])
        ['▁the', '▁cat', '.', '</s>']
    """
    import collections
    import math

    from tokenizers import normalizers, pre_tokenizers
    from transformers import T5TokenizerFast

    texts = list(texts)
    normalizer = normalizers.NFKC()
    # punctuation split from words, so "Oslo." and "Oslo" share the piece "▁Oslo"
    pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(), pre_tokenizers.Punctuation()])
    words: collections.Counter[str] = collections.Counter()
    for text in texts:
        words.update(piece for piece, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    words.pop("▁", None)  # a lone word start: SentencePiece writes it only before a piece
    chars = collections.Counter({c: n for word, n in words.items() for c in word})
    chars.update({"▁" + c: 1 for c in list(chars) if c != "▁"})  # a word that starts with any known character
    total = sum(words.values()) + sum(chars.values())
    pieces = dict(words.most_common(vocab_size))
    # characters cost 10 nats extra, so a known word always beats its spelling
    scored = {**{c: math.log(n / total) - 10.0 for c, n in chars.items()},
              **{w: math.log(n / total) for w, n in pieces.items()}}
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "spiece.model")
    with open(path, "wb") as f:
        f.write(_sentencepiece_model(texts, sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))))
    return T5TokenizerFast(vocab_file=path, extra_ids=0, add_prefix_space=True)


def _sentencepiece_model(texts: list[str], pieces: list[tuple[str, float]]) -> bytes:
    """A serialised SentencePiece Unigram model with T5's special ids and the given pieces.

    SentencePiece's trainer (on a character model, quick on any corpus) supplies a valid
    model with the NFKC normaliser; its pieces are then replaced by ours.
    """
    import io

    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts or ["a"]), model_writer=buffer, model_type="char", vocab_size=8,
        hard_vocab_limit=False, character_coverage=1.0, normalization_rule_name="nmt_nfkc",
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, minloglevel=2)
    model = sentencepiece_model_pb2.ModelProto.FromString(buffer.getvalue())
    model.trainer_spec.model_type = sentencepiece_model_pb2.TrainerSpec.UNIGRAM
    kind = sentencepiece_model_pb2.ModelProto.SentencePiece
    del model.pieces[:]
    for token, piece_type in zip(SPECIAL_TOKENS, (kind.CONTROL, kind.CONTROL, kind.UNKNOWN)):
        model.pieces.add(piece=token, score=0.0, type=piece_type)
    for token, score in pieces:
        model.pieces.add(piece=token, score=score, type=kind.NORMAL)
    model.trainer_spec.vocab_size = len(model.pieces)
    return model.SerializeToString()


def build_scratch_dir(name: str, texts: list[str], path: str, seed: int) -> str:
    """Trains the tokenizer, initialises the model from ``seed`` and saves both to ``path``."""
    import tensorflow as tf
    from transformers import T5Config, TFT5ForConditionalGeneration

    tmp = f"{path}.tmp-{os.getpid()}"
    tokenizer = train_unigram_tokenizer(texts, tmp)
    config = T5Config(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                      eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.pad_token_id,
                      **SCRATCH_MODELS[name])
    tf.keras.utils.set_random_seed(seed)
    model = TFT5ForConditionalGeneration(config)
    model(model.dummy_inputs, training=False)  # create the variables
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    replace_dir(tmp, path)
    return path


def scratch_model_dir(cfg: Any) -> str:
    """The directory of ``cfg.model`` built for this training data and seed (cached).

    Raises:
        TfftError: not in train mode, or no training file to learn the vocabulary from.
    """
    from tfft.data.features import fingerprint
    from tfft.data.readers import load_raw_splits

    if cfg.mode != "train":
        raise TfftError(f"--model={cfg.model} is built from the training data, so --mode={cfg.mode} cannot use it; "
                        "pass the model/ directory of a run that trained it (e.g. --model=runs/t5_demo/model).")
    train = load_raw_splits(cfg)[0]["train"]
    if train is None:
        raise TfftError(f"--model={cfg.model} learns its vocabulary from the training data; pass --train_file.")
    texts = [v for column in train.columns for v in train[column] if isinstance(v, str) and v.strip()]
    if cfg.input_template:
        texts.append(re.sub(r"\{[^}]*\}", " ", cfg.input_template))  # its own words ("question:", ...)
    key = fingerprint(cfg.model, SCRATCH_MODELS[cfg.model], VOCAB_SIZE, cfg.seed, texts)
    path = os.path.join(cfg.cache_root(), "models", f"{cfg.model}-{key}")
    if os.path.isfile(os.path.join(path, "tf_model.h5")):
        return path
    return build_scratch_dir(cfg.model, texts, path, cfg.seed)
