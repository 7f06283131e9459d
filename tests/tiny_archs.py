"""Tiny random models of every encoder family tfft supports, in Hugging Face layout.

Each directory holds a 2-layer model (hidden size 32, 2 heads, intermediate 64) with a
tokenizer trained here on the test data's words: WordPiece (BERT, DistilBERT, ELECTRA,
MPNet) and byte-level BPE (RoBERTa) with the ``tokenizers`` library, a SentencePiece
Unigram ``.model`` (ALBERT, XLM-RoBERTa, DeBERTa-v2) with ``sentencepiece``; everything is
written with ``save_pretrained`` so ``AutoTokenizer`` and ``TFAuto*`` load it back.
"""

from __future__ import annotations

import io
import os
from typing import Any, Callable

from conftest import FILLER, NEGATIVE, POSITIVE, EMOTION_WORDS

HIDDEN, LAYERS, HEADS, INTERMEDIATE, POSITIONS = 32, 2, 2, 64, 80
SIZES = dict(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS, intermediate_size=INTERMEDIATE,
             max_position_embeddings=POSITIONS, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
#: What the tokenizers learn from: every word the keyword, emotion and QA test data use.
CORPUS = [" ".join(POSITIVE + NEGATIVE + FILLER), "what is it ?", " ".join(w for ws in EMOTION_WORDS.values()
                                                                            for w in ws), "a b c . , ! ?"] * 4
WORDPIECE_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
ROBERTA_SPECIAL = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def _wordpiece_vocab(directory: str, special: list[str]) -> str:
    """Trains a WordPiece vocabulary on :data:`CORPUS`; the path of its ``vocab.txt``."""
    from tokenizers import BertWordPieceTokenizer

    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(CORPUS, vocab_size=160, min_frequency=1, special_tokens=special)
    os.makedirs(directory, exist_ok=True)
    return trainer.save_model(directory)[0]


def _bpe_files(directory: str) -> tuple[str, str]:
    """Trains a byte-level BPE (RoBERTa's) on :data:`CORPUS`; its ``vocab.json`` and ``merges.txt``."""
    from tokenizers import ByteLevelBPETokenizer

    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(CORPUS, vocab_size=400, min_frequency=1, special_tokens=ROBERTA_SPECIAL)
    os.makedirs(directory, exist_ok=True)
    vocab, merges = trainer.save_model(directory)
    return vocab, merges


def _unigram_model(directory: str, name: str, symbols: list[str], **ids: int) -> str:
    """Trains a SentencePiece Unigram model on :data:`CORPUS` (``symbols`` as control pieces)."""
    import sentencepiece as spm

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(CORPUS), model_writer=buffer, model_type="unigram",
                                   vocab_size=120, hard_vocab_limit=False, character_coverage=1.0,
                                   control_symbols=symbols, minloglevel=2, **ids)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(buffer.getvalue())
    return path


def _tokenizer(arch: str, directory: str) -> Any:
    import transformers as hf

    if arch in ("bert", "distilbert", "electra"):
        cls = {"bert": hf.BertTokenizerFast, "distilbert": hf.DistilBertTokenizerFast,
               "electra": hf.ElectraTokenizerFast}[arch]
        return cls(vocab_file=_wordpiece_vocab(directory, WORDPIECE_SPECIAL), do_lower_case=True)
    if arch == "mpnet":
        return hf.MPNetTokenizerFast(vocab_file=_wordpiece_vocab(directory, ["<s>", "<pad>", "</s>", "[UNK]",
                                                                             "<mask>"]), do_lower_case=True)
    if arch == "roberta":
        return hf.RobertaTokenizerFast(*_bpe_files(directory))
    if arch == "albert":
        path = _unigram_model(directory, "spiece.model", ["[CLS]", "[SEP]", "[MASK]"], pad_id=0, unk_id=1,
                              bos_id=-1, eos_id=-1)
        return hf.AlbertTokenizerFast(vocab_file=path)
    if arch == "xlm-roberta":
        path = _unigram_model(directory, "sentencepiece.bpe.model", [], unk_id=0, bos_id=1, eos_id=2, pad_id=-1)
        return hf.XLMRobertaTokenizerFast(vocab_file=path)
    if arch == "deberta-v2":
        path = _unigram_model(directory, "spm.model", ["[CLS]", "[SEP]", "[MASK]"], pad_id=0, unk_id=1,
                              bos_id=-1, eos_id=-1)
        return hf.DebertaV2TokenizerFast(vocab_file=path)
    raise KeyError(arch)


def _config(arch: str, tokenizer: Any) -> Any:
    import transformers as hf

    common = dict(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id)
    if arch == "distilbert":
        return hf.DistilBertConfig(dim=HIDDEN, n_layers=LAYERS, n_heads=HEADS, hidden_dim=INTERMEDIATE,
                                   max_position_embeddings=POSITIONS, dropout=0.0, attention_dropout=0.0, **common)
    extra: dict[str, Any] = {
        "albert": dict(embedding_size=16, classifier_dropout_prob=0.0),
        "deberta-v2": dict(relative_attention=True, pos_att_type=["p2c", "c2p"], position_biased_input=False,
                           position_buckets=16, max_relative_positions=-1, pooler_dropout=0.0),
        "mpnet": dict(relative_attention_num_buckets=8),
    }.get(arch, {})
    if arch in ("roberta", "xlm-roberta"):
        extra = dict(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    config_class = {"bert": hf.BertConfig, "electra": hf.ElectraConfig, "mpnet": hf.MPNetConfig,
                    "roberta": hf.RobertaConfig, "xlm-roberta": hf.XLMRobertaConfig, "albert": hf.AlbertConfig,
                    "deberta-v2": hf.DebertaV2Config}[arch]

    return config_class(**SIZES, **common, **extra)


#: Architecture -> model_type of its config (the key tfft's family table uses).
ARCHITECTURES = ("bert", "distilbert", "roberta", "xlm-roberta", "albert", "electra", "deberta-v2", "mpnet")


def build_tiny(arch: str, directory: str, seed: int = 0) -> str:
    """Writes a tiny random ``arch`` base model and its trained tokenizer to ``directory``."""
    import tensorflow as tf
    from transformers import TFAutoModel

    tokenizer = _tokenizer(arch, directory)
    tf.keras.utils.set_random_seed(seed)
    model = TFAutoModel.from_config(_config(arch, tokenizer))
    model(model.dummy_inputs, training=False)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


class TinyDirs(dict):
    """Architecture -> its tiny model directory, each built on first use under ``make_dir(arch)``."""

    def __init__(self, make_dir: Callable[[str], str], **ready: str) -> None:
        super().__init__(ready)
        self.make_dir = make_dir

    def __missing__(self, arch: str) -> str:
        self[arch] = build_tiny(arch, self.make_dir(arch))
        return self[arch]
