"""T5 raw-text serving: in-graph SentencePiece gives the HF tokenizer's ids and decoded text."""

import pytest
import tensorflow as tf

from test_serving import CORPUS, assert_same_ids
from tfft.models.scratch import train_unigram_tokenizer
from tfft.serving.sentencepiece import sentencepiece_encoder
from tfft.serving.text import text_encoder

T5_CORPUS = CORPUS + ["question: Who founded Oslo? context: Ada Weber founded it in 1624.", "Don't , stop . ?",
                      "it 's a n't they 're", "  double  spaces  ", "UPPER lower MiXeD"]


@pytest.fixture(scope="module")
def t5_tokenizer(tmp_path_factory):
    """A SentencePiece T5 tokenizer that knows half of the corpus's words and characters."""
    return train_unigram_tokenizer(T5_CORPUS[::2] * 3, str(tmp_path_factory.mktemp("spiece")))


def test_in_graph_sentencepiece_ids_equal_the_t5_tokenizers_on_a_hostile_corpus(t5_tokenizer):
    got = assert_same_ids(text_encoder(t5_tokenizer, max_length=48), t5_tokenizer, T5_CORPUS, 48)
    assert got["input_ids"].shape[1] == 48  # the long texts were cut, </s> kept


def test_in_graph_decoding_equals_the_tokenizers_batch_decode(t5_tokenizer):
    encoder = text_encoder(t5_tokenizer, max_length=64)
    ids = encoder(tf.constant(T5_CORPUS))["input_ids"]
    ids = tf.concat([tf.zeros_like(ids[:, :1]), ids], axis=1)  # as generated: decoder start (pad) first
    expected = [t.strip() for t in t5_tokenizer.batch_decode(ids.numpy(), skip_special_tokens=True,
                                                             clean_up_tokenization_spaces=True)]
    assert [t.decode() for t in encoder.decode(ids).numpy()] == expected
    assert any("⁇" not in t and "<unk>" not in t for t in expected)


def test_a_t5_tokenizer_without_its_sentencepiece_file_stays_on_ids(t5_tokenizer, tmp_path):
    from transformers import T5TokenizerFast

    t5_tokenizer.save_pretrained(str(tmp_path))
    only_json = T5TokenizerFast(tokenizer_file=str(tmp_path / "tokenizer.json"), extra_ids=0)
    assert only_json("Hello")["input_ids"] == t5_tokenizer("Hello")["input_ids"]
    assert sentencepiece_encoder(only_json, 32) is None


def test_a_tokenizer_the_graph_does_not_reproduce_stays_on_ids(t5_tokenizer, tmp_path):
    from transformers import T5TokenizerFast

    drifted = T5TokenizerFast(vocab_file=t5_tokenizer.vocab_file, extra_ids=0, legacy=False)  # no word-start ▁
    assert drifted("Hello")["input_ids"] != t5_tokenizer("Hello")["input_ids"]
    assert sentencepiece_encoder(drifted, 32) is None and sentencepiece_encoder(t5_tokenizer, 32) is not None
