"""Extractive QA: windows and labels, decoding on hand-made logits, data layouts, bad input."""

import json
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tfft
from conftest import write_csv
from qa_data import QUESTION, as_examples, qa_row, qa_rows, write_jsonl, write_squad_json
from tfft.data.features import Features, Ragged
from tfft.data.prepare import prepare
from tfft.errors import TfftError
from tfft.models.loading import load_tokenizer
from tfft.tasks.qa.decode import DecodeOptions, decode
from tfft.tasks.qa.features import window_features


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return load_tokenizer(tiny_model_dir)


# -- windows and labels --------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), stride=st.sampled_from([1, 5, 9, 13]), words=st.integers(3, 70))
def test_windows_cover_the_context_and_label_exactly_the_answer(tokenizer, seed, stride, words):
    rows = [qa_row(random.Random(seed), "q", words)]
    example = as_examples(rows)
    features = window_features(tokenizer, example, max_length=24, doc_stride=stride)
    context, answer = rows[0]["context"], rows[0]["answers"]["text"][0]
    first = rows[0]["answers"]["answer_start"][0]
    whole = tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    seen, previous = set(), None
    for w in range(len(features)):
        starts, ends = features.extras["offset_start"].row(w), features.extras["offset_end"].row(w)
        tokens = [(int(s), int(e)) for s, e in zip(starts, ends) if s >= 0]
        seen.update(tokens)
        if previous is not None:  # consecutive windows share exactly doc_stride context tokens
            assert previous[-stride:] == tokens[:stride]
        previous = tokens
        start, end = features.labels[w]
        inside = tokens[0][0] <= first and first + len(answer) <= tokens[-1][1]
        if inside:
            assert context[starts[start]:ends[end]] == answer
        else:
            assert start == end == features.extras["cls_index"][w] == 0
    assert seen == set(map(tuple, whole))  # every context token is in some window
    assert features.example_index.tolist() == [0] * len(features)


def test_windows_survive_the_feature_cache(tokenizer, tmp_path):
    from tfft.data import features as feats

    original = window_features(tokenizer, as_examples(qa_rows(5, 3)), max_length=24, doc_stride=5)
    feats.save(original, str(tmp_path / "f.npz"), 5)
    loaded, n_examples = feats.load(str(tmp_path / "f.npz"))
    assert n_examples == 5 and set(loaded.extras) == set(original.extras)
    for name in ("offset_start", "offset_end"):
        np.testing.assert_array_equal(loaded.extras[name].values, original.extras[name].values)
        np.testing.assert_array_equal(loaded.extras[name].row_splits, original.extras[name].row_splits)
    np.testing.assert_array_equal(loaded.extras["cls_index"], original.extras["cls_index"])
    np.testing.assert_array_equal(loaded.labels, original.labels)
    np.testing.assert_array_equal(loaded.example_index, original.example_index)
    assert list(loaded.inputs) == ["input_ids", "token_type_ids"]


def test_an_answer_straddling_a_window_edge_is_labelled_cls_there(tokenizer):
    words = ["the"] * 30
    words[13:15] = ["great", "lovely"]
    context = " ".join(words)
    example = as_examples([{"id": "q", "question": QUESTION, "context": context,
                            "answers": {"text": ["great lovely"], "answer_start": [context.index("great")]}}])
    # "what is it ?" is 7 tokens; with 3 special tokens a 24-token window holds 14 context
    # tokens (0-13, then 10-23, ...): window 0 ends inside the answer, window 1 holds it whole
    features = window_features(tokenizer, example, max_length=24, doc_stride=4)
    starts, ends = features.extras["offset_start"], features.extras["offset_end"]
    assert int((starts.row(0) >= 0).sum()) == 14
    assert features.labels[0].tolist() == [0, 0]
    start, end = features.labels[1]
    assert context[starts.row(1)[start]:ends.row(1)[end]] == "great lovely"


# -- decoding on hand-made logits ----------------------------------------------------------
CONTEXT = "aa bb cc dd ee ff"
# Two windows of "[CLS] q q [SEP] <4 context tokens> [SEP]": tokens cc and dd are in both.
WINDOW_TOKENS = [[(0, 2), (3, 5), (6, 8), (9, 11)], [(6, 8), (9, 11), (12, 14), (15, 17)]]


def two_windows() -> Features:
    starts, ends = [], []
    for tokens in WINDOW_TOKENS:
        starts.append([-1] * 4 + [s for s, _ in tokens] + [-1])
        ends.append([-1] * 4 + [e for _, e in tokens] + [-1])
    ids = Ragged.from_lists([[2] + [5] * 8] * 2)
    return Features(inputs={"input_ids": ids}, example_index=np.array([0, 0]),
                    extras={"offset_start": Ragged.from_lists(starts), "offset_end": Ragged.from_lists(ends),
                            "cls_index": np.array([0, 0])})


def logits(window0: dict, window1: dict) -> np.ndarray:
    """``[2, 2, 9]`` logits, 0 except at ``{(row, position): value}`` (row 0 start, 1 end)."""
    out = np.zeros((2, 2, 9))
    for w, values in enumerate((window0, window1)):
        for (row, position), value in values.items():
            out[w, row, position] = value
    return out


def test_the_best_span_is_chosen_across_windows_within_max_answer_length():
    span_logits = logits({(0, 5): 3.0, (1, 6): 3.0, (0, 1): 100.0, (1, 2): 100.0},  # "bb cc" = 6; question tokens
                         {(0, 4): 6.0, (0, 6): 5.0, (1, 7): 4.0})  # "cc dd ee ff" = 10, "ee ff" = 9
    features = two_windows()
    short, = decode(span_logits, features, [CONTEXT], DecodeOptions(max_answer_length=3))
    assert (short["answer"], short["start"], short["end"]) == ("ee ff", 12, 17)
    long, = decode(span_logits, features, [CONTEXT], DecodeOptions(max_answer_length=30))
    assert (long["answer"], long["start"], long["end"]) == ("cc dd ee ff", 6, 17)
    spans = [(e["text"], e["answer_start"]) for e in long["nbest"]]
    assert len(spans) == len(set(spans)) and "bb cc" in dict(spans)  # cc/dd from both windows once each
    assert sum(e["probability"] for e in long["nbest"]) == pytest.approx(1.0)
    assert all(not e["text"].startswith("q") for e in long["nbest"])  # question tokens never answer


def test_v2_answers_nothing_when_the_lowest_null_score_beats_the_best_span_by_the_threshold():
    span = {(0, 6): 5.0, (1, 7): 4.0}  # "ee ff" in window 1: 9
    features = two_windows()
    # null (the [CLS] start + end) is 11 in window 0 and 20 in window 1: the lowest, 11, counts
    span_logits = logits({(0, 0): 5.5, (1, 0): 5.5}, {**span, (0, 0): 10.0, (1, 0): 10.0})

    def answer(threshold):
        options = DecodeOptions(version_2=True, null_score_diff_threshold=threshold)
        return decode(span_logits, features, [CONTEXT], options)[0]

    assert answer(0.0)["answer"] == "" and answer(0.0)["start"] is None
    assert answer(0.0)["no_answer_score"] == pytest.approx(11.0 - 9.0)
    assert answer(2.5)["answer"] == "ee ff"
    assert answer(0.0)["nbest"][0]["text"] == ""  # the null entry is ranked by its score
    v1 = decode(span_logits, features, [CONTEXT], DecodeOptions())[0]
    assert v1["answer"] == "ee ff" and "no_answer_score" not in v1


# -- data layouts and bad input ------------------------------------------------------------
@pytest.fixture()
def qa_config(tiny_model_dir, tmp_path):
    """A factory for QA configs on the tiny model; ``rows`` become the train file (JSON Lines)."""

    def make(rows=None, **overrides):
        values = dict(task="qa", model=tiny_model_dir, max_length=32, doc_stride=8, batch_size=16,
                      validation_split=0.2, output_dir=str(tmp_path / "run"), export_dir=str(tmp_path / "exports"),
                      cache_dir=str(tmp_path / "cache"), seed=0)
        if rows is not None:
            values["train_file"] = write_jsonl(tmp_path / "train.jsonl", rows)
        values.update(overrides)
        return tfft.Config(**values)

    return make


def test_official_json_csv_and_json_lines_give_the_same_examples(qa_config, tmp_path):
    rows = qa_rows(12, 5)
    csv_path = write_csv(str(tmp_path / "v.csv"), [(r["id"], r["question"], r["context"], json.dumps(r["answers"]))
                                                    for r in rows], header=("id", "question", "context", "answers"))
    tables = {}
    for name, path in (("json", write_squad_json(tmp_path / "v.json", rows)), ("csv", csv_path),
                       ("jsonl", write_jsonl(tmp_path / "v.jsonl", rows))):
        tables[name] = prepare(qa_config(qa_rows(20, 1), validation_file=path)).examples["validation"]
    for name in ("csv", "jsonl"):
        pd.testing.assert_frame_equal(tables["json"], tables[name])
    assert tables["json"]["answer_texts"].tolist() == [r["answers"]["text"] for r in rows]


def test_v2_impossible_questions_have_no_answers_and_plausible_answers_are_ignored(qa_config, tmp_path):
    rows = qa_rows(6, 5)
    path = write_squad_json(tmp_path / "v.json", rows, impossible={rows[1]["id"]})
    prepared = prepare(qa_config(qa_rows(20, 1), validation_file=path, version_2_with_negative=True))
    assert prepared.examples["validation"]["answer_texts"].map(len).tolist() == [1, 0, 1, 1, 1, 1]
    assert any("1 of 6 questions have no answer" in n for n in prepared.notes)
    features = prepared.features["validation"]
    impossible = features.example_index == 1
    assert (features.labels[impossible] == features.extras["cls_index"][impossible, None]).all()
    with pytest.raises(TfftError, match=r"1 questions without an answer \(SQuAD v2.0 data\).*--task=squad_v2"):
        prepare(qa_config(qa_rows(20, 1), validation_file=path))


def test_a_misplaced_answer_start_is_skipped_in_train_and_an_error_with_strict(qa_config):
    rows = qa_rows(20, 1)
    rows[3]["answers"]["answer_start"] = [rows[3]["answers"]["answer_start"][0] + 2]
    prepared = prepare(qa_config(rows))
    assert len(prepared.examples["train"]) + len(prepared.examples["validation"]) == 19
    assert any("skipped 1 questions whose answer_start does not point at the answer" in n for n in prepared.notes)
    with pytest.raises(TfftError, match=r"question 'q1-3' has answer_start \d+ pointing at .*, not at its answer "
                                        r".* \(the text occurs at \d+\) \(1 such questions\).*--strict"):
        prepare(qa_config(rows, strict=True))


@pytest.mark.parametrize("change,message", [
    (lambda rows: [{k: v for k, v in r.items() if k != "context"} for r in rows],
     r"no column 'context' \(columns found: id, question, answers\); pass --context_column"),
    (lambda rows: [{**r, "id": "same"} for r in rows], r"repeats question ids 'same' \(1 ids\)"),
    (lambda rows: [{**r, "answers": '{"text": ["x"]}'} for r in rows],
     r"question 'q1-0': answers must be \{\"text\": \[...\], \"answer_start\": \[...\]\}"),
    (lambda rows: [{**r, "question": " ".join(["what"] * 8)} for r in rows],
     r"has 32 tokens, which leaves no room for context in --max_length=32"),
])
def test_bad_input_is_one_clear_error(qa_config, change, message):
    with pytest.raises(TfftError, match=message):
        prepare(qa_config(change(qa_rows(20, 1))))


def test_a_doc_stride_that_does_not_fit_the_window_says_what_would(qa_config):
    # 32 tokens - 7 for the question - 3 special = 22 context tokens per window
    with pytest.raises(TfftError, match=r"--doc_stride=22 must be smaller .* leaves 22; pass --doc_stride=11"):
        prepare(qa_config(qa_rows(20, 1), doc_stride=22))


def test_predict_input_needs_a_context_per_question_or_one_for_all(qa_config):
    from tfft.tasks import get_task

    task = get_task("qa")
    with pytest.raises(TfftError, match="got 2 --question and 3 --context"):
        qa_config(mode="predict", question=("a ?", "b ?"), context=("one", "two", "three"))
    shared = task.predict_examples(qa_config(mode="predict", question=("a ?", "b ?"), context=("one",)))
    assert shared["context"].tolist() == ["one", "one"] and shared["text"].tolist() == ["a ?", "b ?"]


def test_answers_parse_from_every_form_they_arrive_in():
    from tfft.data.squad import parse_answers

    expected = (["Paris", "the city"], [5, 0])
    assert parse_answers({"text": np.array(["Paris", "the city"]), "answer_start": np.array([5, 0])}, "x") == expected
    assert parse_answers('{"text": ["Paris", "the city"], "answer_start": [5, 0]}', "x") == expected
    assert parse_answers([{"text": "Paris", "answer_start": 5}, {"text": "the city", "answer_start": 0}], "x") == expected
    assert parse_answers(None, "x") == parse_answers("", "x") == parse_answers(float("nan"), "x") == ([], [])
    with pytest.raises(TfftError, match="row 3: answers have 2 texts but 1 answer_start values"):
        parse_answers({"text": ["a", "b"], "answer_start": [1]}, "row 3")


def test_left_padding_tokenizers_put_the_context_first_and_still_label_the_answer(tiny_model_dir):
    from transformers import AutoTokenizer

    left = AutoTokenizer.from_pretrained(tiny_model_dir, padding_side="left")
    rows = qa_rows(8, 4)
    features = window_features(left, as_examples(rows), max_length=24, doc_stride=5)
    assert features.extras["offset_start"].row(0)[1] == 0  # [CLS] then the context's first token
    labelled = 0
    for w, row in enumerate(features.example_index):
        start, end = features.labels[w]
        if start:
            span = rows[row]["context"][features.extras["offset_start"].row(w)[start]:
                                        features.extras["offset_end"].row(w)[end]]
            assert span == rows[row]["answers"]["text"][0]
            labelled += 1
    assert labelled >= len(rows)


def test_a_model_without_token_type_ids_gets_and_serves_none(tmp_path, qa_config):
    from transformers import DistilBertConfig, DistilBertTokenizerFast, TFDistilBertModel

    from conftest import write_vocab
    from tfft.tasks import get_task

    path = str(tmp_path / "distil")
    tokenizer = DistilBertTokenizerFast(vocab_file=write_vocab(str(tmp_path / "vocab.txt")))
    model = TFDistilBertModel(DistilBertConfig(vocab_size=tokenizer.vocab_size, dim=16, n_layers=1, n_heads=2,
                                               hidden_dim=32, max_position_embeddings=64))
    model(model.dummy_inputs)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    cfg = qa_config(qa_rows(20, 1), model=path)
    assert list(prepare(cfg).features["train"].inputs) == ["input_ids"]
    keras_model = tfft.build_model(cfg)
    assert sorted(keras_model.input) == ["attention_mask", "input_ids"]
    signature = get_task("qa").serving_signatures(keras_model, keras_model.info)["serving_default"]
    assert sorted(signature.structured_input_signature[0][0]) == ["attention_mask", "input_ids"]
    logits = tfft.api.split_outputs(keras_model, cfg, "validation")["span_logits"]
    assert logits.shape[:2] == (len(prepare(cfg).features["validation"]), 2)



def test_v2_tunes_the_null_threshold_on_validation_and_keeps_it(qa_config, tmp_path):
    rows = qa_rows(16, 5)
    path = write_squad_json(tmp_path / "v.json", rows, impossible={r["id"] for r in rows[::2]})
    cfg = qa_config(qa_rows(20, 1), validation_file=path, version_2_with_negative=True)
    prepared = prepare(cfg)
    model = tfft.build_model(cfg)  # untrained: its null scores spread, so the threshold matters
    outputs = tfft.api.split_outputs(model, cfg, "validation")
    features, examples = prepared.features["validation"], prepared.examples["validation"]
    before = prepared.task.evaluate(outputs, features, examples, model.info)
    tuned = prepared.task.calibrate(cfg, outputs, features, model.info, examples=examples)
    assert tuned.extras["null_threshold_tuned"] and tuned.extras["null_score_diff_threshold"] == before["best_f1_thresh"]
    after = prepared.task.evaluate(outputs, features, examples, tuned)
    assert after["f1"] == pytest.approx(before["best_f1"]) and after["f1"] >= before["f1"]
    # a reloaded model keeps it; the flag, given, wins; --tune_null_threshold=false tunes nothing
    assert prepared.task.update_info(cfg, tuned).extras["null_score_diff_threshold"] == before["best_f1_thresh"]
    assert prepared.task.update_info(cfg.replace(null_score_diff_threshold=1.5), tuned).extras[
        "null_score_diff_threshold"] == 1.5
    off = cfg.replace(tune_null_threshold=False)
    assert prepared.task.calibrate(off, outputs, features, model.info, examples=examples) is model.info


def test_the_window_signature_answers_alike_for_a_window_padded_as_tf_serving_batching_pads(qa_config):
    from test_batching import tf_serving_pad
    from tfft.serving.batching import padding_safe
    from tfft.tasks import get_task

    cfg = qa_config(qa_rows(20, 1))
    model = tfft.build_model(cfg)
    serve = padding_safe(get_task("qa").serving_signatures(model, model.info)["serving_default"], model.tokenizer)
    window = model.tokenizer("the actor ?", "the film was very lovely with a great cast at night .")
    n = len(window["input_ids"])
    alone = serve({k: tf_serving_pad([np.asarray(window[k], np.int32)], n) for k in window})
    merged = serve({k: tf_serving_pad([np.asarray(window[k], np.int32)], n + 9) for k in window})  # [CLS]s, 1s
    for name in ("start_logits", "end_logits"):
        np.testing.assert_allclose(merged[name].numpy()[:, :n], alone[name].numpy(), atol=1e-5)
        assert (merged[name].numpy()[:, n:] <= -1e8).all()  # the padding never wins
