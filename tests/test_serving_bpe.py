"""Byte-level BPE in the graph: RoBERTa's ids, masks and offsets, and raw-text exports that answer as predict."""

import json

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tfft
from conftest import WORDS, keyword_rows, run_python, serve_export, write_csv
from test_serving import CORPUS, assert_same_ids
from tfft.serving.bpe import BpeEncoder, byte_symbols
from tfft.serving.text import text_encoder

#: What the GPT-2 pattern's lookahead and the offsets' trimming are about: whitespace runs before
#: words, punctuation, contractions and at the end; numbers; runs of one letter (repeated merges).
EXTRA = ["Hello  world  's", " x", "  x", "x  ", "a\n\nb", " \nb", "it's we're I'M they'll", "  'sx", "\n",
         "aaaa aaaaa b", "12345 3.14 1,000", "x\u3000 y", "hi\u00a0 there", "the  movie\t\tplot \n ending"]


def write_roberta(path: str, with_model: bool = True) -> str:
    """A byte-level BPE of ~400 tokens trained on the test words and corpus, as ``RobertaTokenizerFast``
    (and, with ``with_model``, a random 2-layer TFRobertaModel of hidden size 32) in ``path``."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaTokenizerFast, TFRobertaModel

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([" ".join(WORDS + ["don't", "it's", "10/10", "café", "東京", "🤖"])] * 20 + CORPUS,
                            vocab_size=400, min_frequency=1, show_progress=False,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(path)
    tokenizer = RobertaTokenizerFast(vocab_file=f"{path}/vocab.json", merges_file=f"{path}/merges.txt")
    tokenizer.save_pretrained(path)
    if with_model:
        tf.keras.utils.set_random_seed(0)
        model = TFRobertaModel(RobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                                             num_attention_heads=4, intermediate_size=64, max_position_embeddings=66,
                                             type_vocab_size=1, pad_token_id=tokenizer.pad_token_id,
                                             hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))
        model(model.dummy_inputs)
        model.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def roberta_dir(tmp_path_factory) -> str:
    return write_roberta(str(tmp_path_factory.mktemp("tiny_roberta")))


def _tokenizer(path: str, add_prefix_space: bool = False):
    from transformers import RobertaTokenizerFast

    return RobertaTokenizerFast.from_pretrained(path, add_prefix_space=add_prefix_space)


def assert_same_offsets(encoder, tokenizer, corpus: list[str]) -> None:
    """Ids and ``[start, end)`` of every token equal the HF tokenizer's ``offset_mapping``, text by text."""
    expected = tokenizer(corpus, add_special_tokens=False, return_offsets_mapping=True)
    ids, start, end = encoder.token_ids_with_offsets(tf.constant(corpus))
    for i, text in enumerate(corpus):
        assert ids[i].numpy().tolist() == expected["input_ids"][i], repr(text)
        spans = list(zip(start[i].numpy().tolist(), end[i].numpy().tolist()))
        assert spans == [tuple(span) for span in expected["offset_mapping"][i]], repr(text)


def test_the_byte_alphabet_is_256_printable_symbols_with_space_as_g_dot():
    symbols = byte_symbols()
    assert len(set(symbols)) == 256 and all(s.isprintable() and not s.isspace() for s in symbols)
    assert symbols[ord(" ")] == "Ġ" and symbols[ord("a")] == "a" and symbols[ord("\n")] == "Ċ"


@pytest.mark.parametrize("add_prefix_space", [False, True], ids=["no_prefix", "prefix_space"])
def test_in_graph_bpe_equals_the_fast_tokenizer_on_the_hostile_corpus(roberta_dir, add_prefix_space):
    tokenizer = _tokenizer(roberta_dir, add_prefix_space)
    encoder = text_encoder(tokenizer, max_length=64)
    assert isinstance(encoder, BpeEncoder) and encoder.prefix_space is add_prefix_space
    assert_same_ids(encoder, tokenizer, CORPUS + EXTRA, 64)  # the long texts are cut at 64
    assert_same_offsets(encoder, tokenizer, CORPUS + EXTRA)


def test_pairs_are_laid_out_as_roberta_without_token_types(roberta_dir):
    tokenizer = _tokenizer(roberta_dir)
    encoder = text_encoder(tokenizer, max_length=64)
    assert encoder.pair_middle == (tokenizer.sep_token_id,) * 2 and encoder.uses_type_ids is False
    assert "token_type_ids" not in tokenizer.model_input_names
    firsts, seconds = ["what is it ?", "", "Café?"], ["the movie was great", "東京 🤖", " x"]  # HF reads a "" pair as none
    a, b = encoder.token_ids(tf.constant(firsts), 64), encoder.token_ids(tf.constant(seconds), 64)
    for i, (first, second) in enumerate(zip(firsts, seconds)):
        ids = [encoder.cls_id, *a[i].numpy(), *encoder.pair_middle, *b[i].numpy(), encoder.sep_id]
        assert ids == tokenizer(first, second)["input_ids"], (first, second)


def test_wordpiece_encoders_describe_the_bert_layout(tiny_model_dir):
    from transformers import BertTokenizerFast

    encoder = text_encoder(BertTokenizerFast.from_pretrained(tiny_model_dir), 32)
    assert encoder.pair_middle == (encoder.sep_id,) and encoder.uses_type_ids is True


def _ascii_only(unk: bool):
    """A BPE whose alphabet is ASCII letters, digits and space: other bytes are unknown."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import RobertaTokenizerFast

    symbols = byte_symbols()
    alphabet = [symbols[b] for b in range(128) if chr(b).isalnum() or b == 32]
    vocab = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>", *alphabet, "Ġt", "he", "Ġthe"])}
    bpe = Tokenizer(models.BPE(vocab=vocab, merges=[("Ġ", "t"), ("h", "e"), ("Ġt", "he")],
                               unk_token="<unk>" if unk else None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    return RobertaTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")


@pytest.mark.parametrize("unk", [True, False], ids=["unk_token", "no_unk_token"])
def test_bytes_outside_the_vocabulary_are_unknown_or_dropped_as_hugging_face_does(unk):
    tokenizer = _ascii_only(unk)
    encoder = text_encoder(tokenizer, max_length=64)
    got = assert_same_ids(encoder, tokenizer, CORPUS + EXTRA, 64)
    assert (tokenizer.unk_token_id in got["input_ids"].numpy()) is unk
    if unk:  # without one, Hugging Face's span of a token before dropped bytes may reach over them
        assert_same_offsets(encoder, tokenizer, CORPUS + EXTRA)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(texts=st.lists(st.text(max_size=30), min_size=1, max_size=6))
def test_any_unicode_text_gets_the_fast_tokenizers_ids_and_offsets(roberta_dir, texts):
    tokenizer = _tokenizer(roberta_dir)
    assert_same_offsets(text_encoder(tokenizer, max_length=64), tokenizer, texts)


@pytest.mark.slow
def test_a_roberta_classifier_export_on_raw_text_gives_the_python_logits(roberta_dir, tmp_path):
    train = write_csv(str(tmp_path / "train.csv"), keyword_rows(40, 0))
    cfg = tfft.Config(task="classification", model=roberta_dir, train_file=train, max_length=32,
                      export_dir=str(tmp_path / "exports"), cache_dir=str(tmp_path / "cache"))
    model = tfft.build_model(cfg)
    head = [w for w in model.weights if "classifier" in w.name and "kernel" in w.name]
    for w in head:  # a head large enough that logits depend on the tokens
        w.assign(w * 50.0)
    path = tfft.export(model, cfg)
    texts = ["A GREAT film, wonderful!", "the plot was boring .", "", "  Café  scene\tat night 🤖 " * 6]
    encoded = model.tokenizer(texts, truncation=True, max_length=32, padding=True, return_tensors="np")
    logits = model({k: tf.constant(encoded[k].astype(np.int32)) for k in ("input_ids", "attention_mask")},
                   training=False)["logits"]
    expected = tf.nn.softmax(logits, axis=-1).numpy()
    assert np.ptp(expected[:, 0]) > 1e-3  # the texts' outputs differ: a wrong token would show
    served = serve_export(path, texts)  # a process importing only tensorflow and tensorflow_text
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-5)
    assert json.load(open(f"{path}/assets/tfft.json"))["serving"]["serving_default_input"] == "text"


@pytest.mark.slow
def test_a_roberta_qa_export_answers_as_predict_in_a_tensorflow_only_process(roberta_dir, tmp_path):
    from qa_data import qa_rows, write_jsonl
    from test_serving_qa import SERVE_QA, _as_served, _corpus, _predict

    cfg = tfft.Config(task="qa", model=roberta_dir, train_file=write_jsonl(tmp_path / "train.jsonl", qa_rows(8, 1)),
                      max_length=32, doc_stride=8, max_answer_length=5, n_best_size=6,
                      export_dir=str(tmp_path / "exports"), cache_dir=str(tmp_path / "cache"), seed=3)
    model = tfft.build_model(cfg)
    rows = _corpus()  # contexts of 1 to ~12 windows of <s> q </s></s> part </s>
    expected = _as_served(_predict(model, cfg, rows))
    path = tfft.export(model, cfg)
    proc = run_python(["-c", SERVE_QA, path, json.dumps(rows)], env={"TF_USE_LEGACY_KERAS": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    *_, outputs, modules = proc.stdout.strip().splitlines()
    assert json.loads(modules) == []
    served = json.loads(outputs)
    assert {k: served[k] for k in expected} == expected
    assert len(set(expected["start"])) > 3  # the spans differ from row to row
