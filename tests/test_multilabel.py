"""Multi-label classification: metrics, thresholds, both data layouts, bad input, learning, export."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tfft
from conftest import EMOTION_WORDS, emotion_rows, png_size, run_python, write_csv, write_emotions
from tfft.data.prepare import prepare
from tfft.errors import TfftError
from tfft.metrics.multilabel import multilabel_metrics, tune_thresholds

NAMES = list(EMOTION_WORDS)


def test_metrics_match_hand_computed_values():
    y = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 1, 0]])
    p = np.array([[0.9, 0.2, 0.4], [0.1, 0.8, 0.3], [0.2, 0.1, 0.6], [0.7, 0.3, 0.1]])
    m = multilabel_metrics(y, p, np.full(3, 0.5))
    # predicted: [1,0,0] [0,1,0] [0,0,1] [1,0,0]; tp=3 fp=1 fn=2
    assert m["micro_f1"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 2))
    # per label F1: label0 tp2 -> 1.0; label1 tp1 fn1 -> 2/3; label2 tp0 fp1 fn1 -> 0
    assert m["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert m["subset_accuracy"] == pytest.approx(1 / 4)  # only row 1 has its whole label set right
    # jaccard per row: 1/2, 1, 0 (empty true vs {2}), 1/2
    assert m["jaccard"] == pytest.approx((0.5 + 1 + 0 + 0.5) / 4)
    # micro ROC-AUC over 12 pairs: 5 positives, 7 negatives; count of correctly ordered pairs
    pos, neg = p[y == 1], p[y == 0]
    expected = np.mean([(a > b) + 0.5 * (a == b) for a in pos for b in neg])
    assert m["roc_auc"] == pytest.approx(expected)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_tuned_thresholds_never_lower_any_labels_f1(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random((30, 3)) < 0.3).astype(int)
    p = np.clip(y * 0.3 + rng.random((30, 3)) * 0.7, 0, 1)
    from sklearn.metrics import f1_score

    tuned = tune_thresholds(y, p)
    for j in range(3):
        at_half = f1_score(y[:, j], p[:, j] >= 0.5, zero_division=0)
        at_tuned = f1_score(y[:, j], p[:, j] >= tuned[j], zero_division=0)
        assert at_tuned >= at_half - 1e-12


@pytest.fixture()
def emotion_config(tiny_model_dir, tmp_path):
    def make(layout="columns", n=(320, 80, 80), **overrides):
        files = {s: write_emotions(str(tmp_path / f"{s}-{layout}.csv"), emotion_rows(k, seed), layout)
                 for s, k, seed in zip(("train", "validation", "test"), n, (1, 2, 3))}
        values = dict(task="multilabel", model=tiny_model_dir, train_file=files["train"],
                      validation_file=files["validation"], test_file=files["test"], max_length=32, batch_size=16,
                      epochs=1, learning_rate=1e-3, output_dir=str(tmp_path / "run"),
                      export_dir=str(tmp_path / "exports"), cache_dir=str(tmp_path / "cache"), seed=0)
        if layout == "list":
            values.update(label_column="labels", label_names=tuple(NAMES))
        values.update(overrides)
        return tfft.Config(**values)

    return make


def test_both_layouts_give_identical_label_matrices(emotion_config):
    by_columns = prepare(emotion_config("columns", n=(60, 20, 20)))
    by_lists = prepare(emotion_config("list", n=(60, 20, 20)))
    assert by_columns.info.label_names == by_lists.info.label_names == tuple(NAMES)
    for split in ("train", "validation", "test"):
        np.testing.assert_array_equal(by_columns.features[split].labels, by_lists.features[split].labels)
    assert any("have no label" in note for note in by_columns.notes)  # label-less rows are kept


def test_json_list_labels_read_like_comma_lists(emotion_config, tmp_path):
    path = write_csv(str(tmp_path / "j.csv"), [("great .", '["joy"]'), ("awful lovely .", '["anger", "love"]'),
                                                ("the .", "[]")], header=("text", "labels"))
    cfg = emotion_config("list", n=(40, 10, 10), validation_file=path, test_file=None)
    np.testing.assert_array_equal(prepare(cfg).features["validation"].labels,
                                  [[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize("overrides,message", [
    (dict(label_columns=("joy", "fear")), r"Label columns missing from the data: fear \(columns found: id, text, joy"),
    (dict(label_columns=("joy",)), r"needs at least two label columns \(received: joy\)"),
])
def test_label_column_errors(emotion_config, overrides, message):
    with pytest.raises(TfftError, match=message):
        prepare(emotion_config("columns", n=(20, 10, 10), **overrides))


def test_non_binary_value_names_column_and_value(emotion_config, tmp_path):
    path = write_csv(str(tmp_path / "b.csv"), [("x", 1, 0, 0, 0), ("y", 0, "maybe", 0, 0)],
                     header=("text", *NAMES))
    with pytest.raises(TfftError, match=r"Label column 'love' in the validation data holds a non-binary value "
                                        r"'maybe' \(row 2\)"):
        prepare(emotion_config("columns", n=(20, 10, 10), validation_file=path))


def test_listed_label_outside_label_names(emotion_config, tmp_path):
    path = write_csv(str(tmp_path / "l.csv"), [("x", "joy,fear")], header=("text", "labels"))
    with pytest.raises(TfftError, match=r"lists label 'fear' .* not in --label_names \(joy, love, anger, sadness\)"):
        prepare(emotion_config("list", n=(20, 10, 10), validation_file=path))


def test_thresholds_file_must_match_the_labels(emotion_config, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"joy": 0.4, "love": 0.5}))
    with pytest.raises(TfftError, match=r"does not match the labels: it has joy, love; expected exactly joy, love, "
                                        r"anger, sadness"):
        prepare(emotion_config("columns", n=(20, 10, 10), thresholds_file=str(path)))


@pytest.mark.slow
def test_tiny_model_learns_emotions_and_export_applies_the_same_thresholds(emotion_config, tmp_path):
    cfg = emotion_config("columns", n=(960, 80, 80), epochs=16, learning_rate=1e-3, tune_thresholds=True,
                         label_weights="auto")
    results = tfft.run(cfg)
    assert results["test"]["micro_f1"] >= 0.9, results
    assert results["eval"]["micro_f1"] >= results["eval"]["micro_f1_at_0_5"]
    per_label = json.load(open(tmp_path / "run" / "per_label.json"))
    assert set(per_label) == set(NAMES) and all("threshold" in row for row in per_label.values())
    assert png_size(tmp_path / "run" / "per_label_f1.png") == (600, 450)  # 6 x 4.5 in for four labels
    assert results["figures"] == [{"name": "per_label_f1", "split": "test", "path": str(tmp_path / "run" /
                                                                                       "per_label_f1.png")}]
    saved = json.load(open(f"{results['export']}/assets/tfft.json"))
    assert saved["extras"]["tuned"] is True and len(saved["extras"]["thresholds"]) == 4

    model = tfft.build_model(cfg.replace(mode="predict", model=results["model_dir"], text=("x",),
                                         train_file=None, validation_file=None, test_file=None))
    texts = ["the great film with lovely music .", "an awful plot .", "the night was quiet ."]
    predictions = tfft.predict(model, cfg, texts)
    assert predictions[0]["labels"][:2] and set(predictions[0]["labels"]) >= {"joy", "love"}
    ids = model.tokenizer(texts, padding=True, return_tensors="np")
    np.savez(tmp_path / "in.npz", input_ids=ids["input_ids"].astype(np.int32),
             attention_mask=ids["attention_mask"].astype(np.int32))
    code = ("import sys, numpy as np, tensorflow as tf, tensorflow_text\n"
            "f = tf.saved_model.load(sys.argv[1]).signatures['serve_ids']\n"
            "d = np.load(sys.argv[2])\n"
            "print(f(input_ids=tf.constant(d['input_ids']), attention_mask=tf.constant(d['attention_mask']))"
            "['multi_hot'].numpy().tolist())")
    proc = run_python(["-c", code, results["export"], str(tmp_path / "in.npz")], env={"TF_USE_LEGACY_KERAS": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = [[int(n in p["labels"]) for n in NAMES] for p in predictions]
    assert served == expected


def test_prediction_lines_list_labels_over_threshold_by_probability():
    from tfft.tasks import get_task

    task = get_task("sem_eval")
    assert task.format_prediction({"labels": ["joy", "love"],
                                   "probabilities": {"joy": 0.934, "love": 0.71, "anger": 0.2}}) == "joy 0.93, love 0.71"
    assert task.format_prediction({"labels": [], "probabilities": {"joy": 0.1}}) == "(no label)"


def _with_empty_cells(tmp_path):
    rows = [(f"t{i}", "a great film", 1, 0, 0, 0) if i % 2 else (f"t{i}", "an awful film", 0, 0, 1, 0)
            for i in range(30)]
    rows[3] = ("t3", "a boring film", 0, 0, "", 0)
    rows[7] = ("t7", "a lovely film", "", 1, 0, 0)
    return write_csv(str(tmp_path / "e.csv"), rows, header=("id", "text", *NAMES))


def test_empty_label_cells_in_label_columns_give_their_lines_and_the_fix(emotion_config, tmp_path):
    path = _with_empty_cells(tmp_path)
    with pytest.raises(TfftError, match=r"The train data has 1 row with an empty label in column 'joy' \(lines 9 "
                                        r"of the file, the header being line 1\); fill them in, or pass "
                                        r"--drop_unlabeled"):
        prepare(emotion_config("columns", n=(20, 10, 10), train_file=path))


def test_drop_unlabeled_drops_rows_with_an_empty_label_cell(emotion_config, tmp_path):
    path = _with_empty_cells(tmp_path)
    prepared = prepare(emotion_config("columns", n=(20, 10, 10), train_file=path, drop_unlabeled=True))
    assert "train: dropped 2 rows with an empty label cell (--drop_unlabeled)" in prepared.notes
    assert len(prepared.examples["train"]) == 28


def test_notebook_calibrate_keeps_tuned_thresholds_on_the_model_and_reports_use_them(emotion_config):
    cfg = emotion_config("columns", n=(48, 40, 40), tune_thresholds=True)
    model = tfft.build_model(cfg)
    assert model.info.extras["tuned"] is False
    info = tfft.calibrate(model, cfg)
    assert model.info is info and info.extras["tuned"] is True and len(info.extras["thresholds"]) == len(NAMES)
    table = tfft.reports(model, cfg, "validation")["per_label.json"]
    assert [table[n]["threshold"] for n in NAMES] == pytest.approx(info.extras["thresholds"])
    assert "micro_f1_at_0_5" in tfft.evaluate(model, cfg, "validation")
    with pytest.raises(ValueError, match="tfft.calibrate tunes on validation data"):
        tfft.calibrate(model, cfg.replace(validation_file=None, validation_split=0.0))
