"""Raw-text serving: in-graph tokenization equals the HF fast tokenizer, and text exports equal predict."""


import numpy as np
import pytest
import tensorflow as tf

import tfft
from conftest import EMOTION_WORDS, emotion_rows, serve_export, write_emotions
from tfft.serving.text import text_encoder, wordpiece_spec

CORPUS = ["Hello, World!", "Café déjà vu — naïve façade", "ÀÉÎÕÜ ÅÇ Ünïcödé ÑANDÚ", "東京は晴れ。今日は良い天気です",
          "I ❤️ NLP 🤖🔥!!", "", "   ", "a\tb\nc\rd", "don't won't can't", "e-mail: x@y.com, $3.50 (50%)",
          "ＦＵＬＬ ｗｉｄｔｈ ａｂｃ", "Straße groß", "İstanbul", "x" * 150, "supercalifragilisticexpialidocious",
          "\u200bzero\u200bwidth", "ﬁne ﬂow", "Ελληνικά κείμενα", "Привет мир", "مرحبا بالعالم", "한국어 텍스트",
          "control\x00\x07chars", "ǅemal ǈ", "a\x0bb\x0cc\x85d\u00a0e\u2028f", "\ufffdbad", "ABC-DEF_ghi",
          "a very long review " * 60, "The Movie WAS Great!!! 10/10 would watch again..."]


def _minilm_tokenizer(lowercase: bool = True):
    from transformers import BertTokenizerFast

    from tfft.models.loading import resolve_model_dir

    try:
        path = resolve_model_dir("minilm")
    except Exception:  # noqa: BLE001
        pytest.skip("the packaged MiniLM is not installed (make install adds it)")
    if lowercase:
        return BertTokenizerFast.from_pretrained(path)
    return BertTokenizerFast(vocab_file=f"{path}/vocab.txt", do_lower_case=False)


@pytest.mark.parametrize("lowercase", [True, False], ids=["uncased", "cased"])
def test_in_graph_ids_equal_the_fast_tokenizers_on_a_hostile_corpus(lowercase):
    tokenizer = _minilm_tokenizer(lowercase)
    assert wordpiece_spec(tokenizer)["lowercase"] is lowercase
    assert_same_ids(text_encoder(tokenizer, max_length=64), tokenizer, CORPUS, 64)


def assert_same_ids(encoder, tokenizer, corpus: list[str], max_length: int) -> dict:
    """The in-graph encoder's padded ids and mask equal the HF tokenizer's, text by text; returns the encoder's."""
    expected = tokenizer(corpus, truncation=True, max_length=max_length, padding=True, return_tensors="np")
    got = encoder(tf.constant(corpus))
    for i, text in enumerate(corpus):
        assert got["input_ids"][i].numpy().tolist() == expected["input_ids"][i].tolist(), repr(text)
    np.testing.assert_array_equal(got["attention_mask"].numpy(), expected["attention_mask"])
    return got


def test_tokenizers_that_cannot_run_in_graph_give_no_encoder(tiny_model_dir):
    from transformers import PreTrainedTokenizerFast
    from tokenizers import Tokenizer, models, pre_tokenizers

    bpe = Tokenizer(models.BPE(vocab={"a": 0, "b": 1, "[UNK]": 2}, merges=[], unk_token="[UNK]"))
    bpe.pre_tokenizer = pre_tokenizers.Whitespace()
    assert text_encoder(PreTrainedTokenizerFast(tokenizer_object=bpe), 16) is None


@pytest.mark.slow
def test_classification_text_export_equals_predict_in_a_tensorflow_only_process(tiny_config):
    cfg = tiny_config(epochs=2, learning_rate=2e-3)
    results = tfft.run(cfg)
    model = tfft.build_model(cfg.replace(mode="predict", model=results["model_dir"], text=("x",)))
    texts = ["A GREAT film, wonderful!", "the plot was boring .", "", "Café scene at night"]
    predictions = tfft.predict(model, cfg, texts)
    served = serve_export(results["export"], texts)
    assert served["label"] == [p["label"] for p in predictions]
    expected = [[p["probabilities"][n] for n in model.info.label_names] for p in predictions]
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-5)


@pytest.mark.slow
def test_multilabel_text_export_returns_the_labels_predict_chooses(tiny_model_dir, tmp_path):
    files = {s: write_emotions(str(tmp_path / f"{s}.csv"), emotion_rows(k, seed)) for s, k, seed in
             (("train", 200, 1), ("validation", 40, 2))}
    cfg = tfft.Config(task="multilabel", model=tiny_model_dir, train_file=files["train"],
                      validation_file=files["validation"], max_length=32, epochs=3, learning_rate=1e-3,
                      output_dir=str(tmp_path / "run"), export_dir=str(tmp_path / "exports"),
                      cache_dir=str(tmp_path / "cache"), tune_thresholds=True)
    results = tfft.run(cfg)
    model = tfft.build_model(cfg.replace(mode="predict", model=results["model_dir"], text=("x",),
                                         train_file=None, validation_file=None))
    texts = ["great lovely night .", "awful .", "the film ."]
    predictions = tfft.predict(model, cfg, texts)
    served = serve_export(results["export"], texts)
    names = list(EMOTION_WORDS)
    assert served["multi_hot"] == [[int(n in p["labels"]) for n in names] for p in predictions]
    assert [set(filter(None, s.split(","))) for s in served["labels"]] == [set(p["labels"]) for p in predictions]
