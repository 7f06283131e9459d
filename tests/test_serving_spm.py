"""ALBERT, XLM-RoBERTa and DeBERTa-v2 raw-text serving: in-graph SentencePiece gives the fast tokenizer's
ids, masks, type ids and character offsets."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from test_serving import CORPUS
from tfft.serving.ops import TF_SERVING_TEXT_OPS
from tfft.serving.spm_text import spm_text_encoder, why_not
from tfft.serving.text import text_encoder

SPM_CORPUS = CORPUS + ["``quoted'' and ''twice``", "1, 2, 9,000 and 10,5", "hello ", " lead", "trail   ", "a  b",
                       "  both  ", "ΣΑΣ ΟΔΟΣ", "hindi हिन्दी", "\u3000ideographic\u3000space\u3000", "x" * 600]


def train_spm(path: str, **ids) -> str:
    """A tiny SentencePiece Unigram model of the corpus, without pieces of one repeated character
    (``!!``: their ties with ``!`` are broken differently, see tfft.serving.spm_text)."""
    import io

    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([t for t in SPM_CORPUS[::2] for _ in range(3)] * 2), model_writer=buffer,
        vocab_size=160, hard_vocab_limit=False, character_coverage=0.98, minloglevel=2, **ids)
    proto = sentencepiece_model_pb2.ModelProto.FromString(buffer.getvalue())
    for piece in list(proto.pieces):
        if len(piece.piece) > 1 and len(set(piece.piece)) == 1:
            proto.pieces.remove(piece)
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())
    return path


ALBERT_IDS = dict(pad_id=0, unk_id=1, bos_id=-1, eos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"])
DEBERTA_IDS = dict(pad_id=0, pad_piece="[PAD]", bos_id=1, bos_piece="[CLS]", eos_id=2, eos_piece="[SEP]", unk_id=3,
                   unk_piece="[UNK]", control_symbols=["[MASK]"])


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spm")
    return {"albert": train_spm(str(tmp / "albert.model"), **ALBERT_IDS),
            "xlmr": train_spm(str(tmp / "xlmr.model")),
            "deberta": train_spm(str(tmp / "deberta.model"), **DEBERTA_IDS)}


def make_tokenizer(models, family: str, **options):
    from transformers import AlbertTokenizerFast, DebertaV2TokenizerFast, XLMRobertaTokenizerFast

    cls = {"albert": AlbertTokenizerFast, "xlmr": XLMRobertaTokenizerFast, "deberta": DebertaV2TokenizerFast}[family]
    return cls(vocab_file=models[family], **options)


CASES = [("albert", {}), ("albert", {"do_lower_case": False}), ("albert", {"keep_accents": True}),
         ("albert", {"keep_accents": True, "do_lower_case": False}), ("xlmr", {}), ("deberta", {}),
         ("deberta", {"do_lower_case": True})]


@pytest.mark.parametrize("family,options", CASES, ids=[f"{f}-{'-'.join(o) or 'default'}" for f, o in CASES])
def test_in_graph_ids_masks_and_types_equal_the_fast_tokenizers(models, family, options):
    tokenizer = make_tokenizer(models, family, **options)
    encoder = text_encoder(tokenizer, max_length=48)
    assert encoder is not None, why_not(tokenizer, 48)
    expected = tokenizer(SPM_CORPUS, truncation=True, max_length=48, padding=True, return_tensors="np")
    got = encoder(tf.constant(SPM_CORPUS))
    for i, text in enumerate(SPM_CORPUS):
        assert got["input_ids"][i].numpy().tolist() == expected["input_ids"][i].tolist(), repr(text)
    np.testing.assert_array_equal(got["attention_mask"].numpy(), expected["attention_mask"])
    assert ("token_type_ids" in got) == ("token_type_ids" in expected)
    if "token_type_ids" in got:
        np.testing.assert_array_equal(got["token_type_ids"].numpy(), expected["token_type_ids"])
    assert got["input_ids"].shape[1] == 48  # the long texts were cut


@pytest.mark.parametrize("family,options", CASES, ids=[f"{f}-{'-'.join(o) or 'default'}" for f, o in CASES])
def test_in_graph_offsets_equal_the_fast_tokenizers(models, family, options):
    tokenizer = make_tokenizer(models, family, **options)
    encoder = spm_text_encoder(tokenizer, 48)
    ids, start, end = encoder.token_ids_with_offsets(tf.constant(SPM_CORPUS))
    for i, text in enumerate(SPM_CORPUS):
        want = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        assert ids[i].numpy().tolist() == want["input_ids"], repr(text)
        assert list(zip(start[i].numpy().tolist(), end[i].numpy().tolist())) == want["offset_mapping"], repr(text)


def test_pairs_built_from_the_encoder_interface_equal_the_fast_tokenizers(models):
    pairs = [("Who founded Oslo?", "Ada Weber founded it in 1624."), ("", "only the second"), ("Café ", " déjà  vu")]
    for family, options in (("albert", {}), ("xlmr", {}), ("deberta", {})):
        tokenizer = make_tokenizer(models, family, **options)
        encoder = spm_text_encoder(tokenizer, 64)
        first = encoder.token_ids(tf.constant([a for a, _ in pairs]), 64)
        second = encoder.token_ids(tf.constant([b for _, b in pairs]), 64)
        for i, (a, b) in enumerate(pairs):
            want = tokenizer(a, b)
            a_ids, b_ids = first[i].numpy().tolist(), second[i].numpy().tolist()
            ids = [encoder.cls_id, *a_ids, *encoder.pair_middle, *b_ids, encoder.sep_id]
            assert ids == want["input_ids"], (family, a, b)
            if encoder.uses_type_ids:
                types = [0] * (len(a_ids) + 1 + len(encoder.pair_middle)) + [1] * (len(b_ids) + 1)
                assert types == want["token_type_ids"], (family, a, b)
        assert encoder.pair_middle == ((encoder.sep_id, encoder.sep_id) if family == "xlmr" else (encoder.sep_id,))


def test_settings_the_graph_cannot_reproduce_give_no_encoder_and_say_why(models):
    split = make_tokenizer(models, "deberta", split_by_punct=True)
    assert spm_text_encoder(split, 32) is None and "split_by_punct" in why_not(split, 32)
    assert text_encoder(split, 32) is None


def tiny_model_dir(path: str, family: str, tokenizer) -> str:
    """A random 2-layer sequence classifier of ``family`` with ``tokenizer``, in save_pretrained layout."""
    import transformers

    names = {"albert": ("AlbertConfig", "TFAlbertForSequenceClassification", {"embedding_size": 16}),
             "xlmr": ("XLMRobertaConfig", "TFXLMRobertaForSequenceClassification", {"max_position_embeddings": 80}),
             "deberta": ("DebertaV2Config", "TFDebertaV2ForSequenceClassification", {"relative_attention": True,
                                                                                    "position_buckets": 16})}
    config_name, model_name, extra = names[family]
    config = getattr(transformers, config_name)(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        pad_token_id=tokenizer.pad_token_id, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        **{"max_position_embeddings": 64, **extra})
    tf.keras.utils.set_random_seed(0)
    model = getattr(transformers, model_name)(config)
    model(model.dummy_inputs)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("family", ["albert", "xlmr", "deberta"])
def test_text_export_equals_python_tokenization_in_a_tensorflow_only_process(models, family, tmp_path):
    import tfft
    from conftest import keyword_rows, serve_export, write_csv

    model_dir = tiny_model_dir(str(tmp_path / "model"), family, make_tokenizer(models, family))
    cfg = tfft.Config(task="classification", model=model_dir, max_length=32, export_dir=str(tmp_path / "exports"),
                      train_file=write_csv(str(tmp_path / "train.csv"), keyword_rows(40, 0)),
                      cache_dir=str(tmp_path / "cache"))
    model = tfft.build_model(cfg)
    for weight in model.weights:  # a random head barely depends on its input: make it
        if "classifier" in weight.name and "kernel" in weight.name:
            weight.assign(weight * 20.0)
    path = tfft.export(model, cfg)
    with open(os.path.join(path, "assets", "tfft.json"), encoding="utf-8") as f:
        serving = json.load(f)["serving"]
    assert serving["serving_default_input"] == "text"
    assert set(serving["signatures"]["serving_default"]["ops"]) <= TF_SERVING_TEXT_OPS  # stock TF Serving has them
    texts = ["Hello, World!", "Café déjà vu — naïve façade", "", "  double  spaces  ", "a very long review " * 20]
    encoded = model.tokenizer(texts, truncation=True, max_length=cfg.max_length, padding=True, return_tensors="np")
    logits = model({"input_ids": encoded["input_ids"].astype(np.int32),
                    "attention_mask": encoded["attention_mask"].astype(np.int32)}, training=False)["logits"]
    expected = tf.nn.softmax(logits).numpy()
    served = serve_export(path, texts)
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-5)
    assert np.ptp(logits.numpy()[:, 0]) > 1e-3  # the outputs depend on the text, so the ids are compared too
