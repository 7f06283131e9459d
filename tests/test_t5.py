"""Seq2seq (t5_qa, text2text): metrics, sequence-label batching, the masked loss, inputs
built from templates, bad input, learning a mapping, and the export round trip."""

import json

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

import tfft
from tfft import api
from conftest import reverse_rows, run_python, write_csv
from tfft.data import features as feats
from tfft.data.features import Features, Ragged
from tfft.data.pipeline import LABEL_PAD, bucket_boundaries, make_dataset
from tfft.data.prepare import prepare
from tfft.errors import TfftError
from tfft.metrics.generation import generation_metrics, rouge_l
from tfft.metrics.squad import exact_score, f1_score, normalize_answer
from tfft.tasks import get_task
from tfft.training.losses import MaskedSparseCategoricalCrossentropy


def test_generation_metrics_match_hand_computed_values():
    assert normalize_answer("The Eiffel  Tower!") == "eiffel tower"
    assert exact_score("oslo", "the Oslo.") == 1 and exact_score("Oslo", "Oslo city") == 0
    assert f1_score("Oslo", "in Oslo city") == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))
    # LCS of "a b c d" and "a c d e" is "a c d": P = R = 3/4
    assert rouge_l("a b c d", "a c d e") == pytest.approx(0.75)
    assert rouge_l("", "") == 1.0 and rouge_l("x", "") == 0.0
    m = generation_metrics(["Oslo", "red car"], ["oslo", "blue car"])
    assert m == pytest.approx({"exact_match": 0.5, "f1": (1 + 0.5) / 2, "rouge_l": (1 + 0.5) / 2})


def seq_features(input_lengths, label_lengths, seed=0):
    rng = np.random.default_rng(seed)
    # each input starts with 1000 + its index, so a batch row says which example it is
    inputs = [[1000 + i] + list(rng.integers(3, 50, size=n - 1)) for i, n in enumerate(input_lengths)]
    labels = [list(rng.integers(3, 50, size=n)) for n in label_lengths]
    return Features(inputs={"input_ids": Ragged.from_lists(inputs)}, labels=Ragged.from_lists(labels)), inputs, labels


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 60), st.integers(1, 20)), min_size=1, max_size=50),
       st.sampled_from([1, 8, 16]), st.integers(0, 4))
def test_buckets_and_padded_widths_are_multiples_and_labels_pad_with_minus_100(pairs, multiple, buckets):
    features, inputs, labels = seq_features([a for a, _ in pairs], [b for _, b in pairs])
    assert all((b - 1) % multiple == 0 for b in bucket_boundaries(features.lengths(), buckets, multiple))
    ds = make_dataset(features, batch_size=4, pad_values={"input_ids": 0}, shuffle=True, seed=0,
                      buckets=buckets, pad_to_multiple_of=multiple)
    rows = 0
    for x, y in ds.as_numpy_iterator():
        assert x["input_ids"].shape[1] % multiple == 0 and y.shape[1] % multiple == 0
        assert x["input_ids"].shape[1] - multiple < max(x["attention_mask"].sum(axis=1))  # no spare block
        for ids, mask, label in zip(x["input_ids"], x["attention_mask"], y):
            n, k = int(mask.sum()), int((label != LABEL_PAD).sum())
            i = int(ids[0]) - 1000
            assert list(ids[:n]) == inputs[i] and not ids[n:].any()
            assert list(label[:k]) == labels[i] and (label[k:] == LABEL_PAD).all()
        rows += len(y)
    assert rows == len(pairs)


def test_sequence_labels_survive_the_feature_cache(tmp_path):
    features, _, labels = seq_features([3, 5], [2, 4])
    feats.save(features, str(tmp_path / "f.npz"), 2)
    loaded, n_examples = feats.load(str(tmp_path / "f.npz"))
    assert n_examples == 2 and isinstance(loaded.labels, Ragged) and [list(loaded.labels.row(i)) for i in range(2)] == labels


def test_masked_loss_ignores_padded_positions():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 4, 7)).astype(np.float32)
    labels = np.array([[3, 4, LABEL_PAD, LABEL_PAD], [1, 2, 5, LABEL_PAD]])
    loss = MaskedSparseCategoricalCrossentropy()
    value = float(loss(labels, logits))
    changed = logits.copy()
    changed[0, 2:] += 50.0 * rng.normal(size=(2, 7))  # anything at padded positions
    assert float(loss(labels, changed)) == pytest.approx(value, rel=1e-6)
    real = labels != LABEL_PAD
    expected = np.mean(-tf.nn.log_softmax(logits).numpy()[real, labels[real]])  # mean over the 5 real tokens
    assert value == pytest.approx(expected, rel=1e-5)


@pytest.fixture()
def t5_config(tiny_t5_dir, tmp_path):
    def make(rows=None, **overrides):
        rows = rows or reverse_rows(32, 1)
        train = write_csv(str(tmp_path / "train.csv"), rows, header=("source", "target"))
        values = dict(task="text2text", model=tiny_t5_dir, train_file=train, max_length=16, max_target_length=8,
                      batch_size=8, epochs=1, learning_rate=1e-3, num_beams=1, output_dir=str(tmp_path / "run"),
                      export_dir=str(tmp_path / "exports"), cache_dir=str(tmp_path / "cache"), seed=0)
        values.update(overrides)
        return tfft.Config(**values)

    return make


def test_padding_the_labels_further_does_not_change_the_model_loss(t5_config):
    model = tfft.build_model(t5_config())
    x = {"input_ids": tf.constant([[5, 6, 7, 1], [8, 9, 1, 0]]), "attention_mask": tf.constant([[1, 1, 1, 1],
                                                                                               [1, 1, 1, 0]])}
    y = tf.constant([[7, 6, 5, 1], [9, 8, 1, LABEL_PAD]])
    wider = tf.pad(y, [[0, 0], [0, 4]], constant_values=LABEL_PAD)
    assert model.evaluate(x, wider, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-5)
    np.testing.assert_array_equal(model.shift_right(y), [[0, 7, 6, 5], [0, 9, 8, 1]])


def test_template_inputs_lowercase_and_dropped_targets(tiny_t5_dir, tmp_path):
    rows = [("Oslo is cold.", "Where is it cold?", "Oslo"), ("x", "y", ""), ("", "q", "a"), ("Ctx", "Q?", "A")]
    train = write_csv(str(tmp_path / "qa.csv"), rows, header=("context", "question", "text"))
    cfg = tfft.Config(task="t5_qa", model=tiny_t5_dir, train_file=train, validation_split=0.0, lowercase=True,
                      cache_dir=str(tmp_path / "cache"))
    prepared = prepare(cfg)
    train = prepared.examples["train"]
    assert train["text"].tolist() == ["question: where is it cold? context: oslo is cold.", "question: q? context: ctx"]
    assert train["target"].tolist() == ["oslo", "a"]
    assert "train: dropped 1 rows with an empty or null target 'text'" in prepared.notes
    assert "train: dropped 1 rows with an empty or null input 'context'" in prepared.notes
    assert isinstance(prepared.features["train"].labels, Ragged)
    assert prepared.info.extras["input_template"] == "question: {question} context: {context}"


@pytest.mark.parametrize("overrides,header,message", [
    ({}, ("src", "target"), r"no column 'source' \(columns found: src, target\); pass --source_column"),
    ({}, ("source", "tgt"), r"no target column 'target' \(columns found: source, tgt\); pass --target_column"),
    (dict(input_template="q: {question} c: {passage}"), ("question", "target"),
     r"no column 'passage' named in --input_template \(columns found: question, target\)"),
    (dict(input_template="q: {}"), ("source", "target"), r"must name columns in braces"),
    (dict(input_template="q: {question"), ("source", "target"), r"is not a valid template"),
])
def test_missing_columns_and_bad_templates_are_one_line_errors(t5_config, tmp_path, overrides, header, message):
    path = write_csv(str(tmp_path / "bad.csv"), [("a b", "b a")], header=header)
    with pytest.raises(TfftError, match=message):
        prepare(t5_config(train_file=path, validation_split=0.0, **overrides))


def test_all_empty_targets_is_an_error(t5_config, tmp_path):
    path = write_csv(str(tmp_path / "empty.csv"), [("a b", ""), ("c", " ")], header=("source", "target"))
    with pytest.raises(TfftError, match=r"no non-empty target in column 'target' \(2 rows"):
        prepare(t5_config(train_file=path, validation_split=0.0))


@pytest.mark.parametrize("overrides,message", [
    (dict(num_beams=0), r"--num_beams must be >= 1 \(received 0\)"),
    (dict(no_repeat_ngram_size=-1), r"--no_repeat_ngram_size must be >= 0 \(received -1\)"),
    (dict(max_target_length=0), r"--max_target_length must be a positive integer"),
    (dict(mode="predict", question=("a?", "b?", "c?"), context=("c", "d")), r"got 3 --question and 2 --context"),
])
def test_generation_flag_errors(t5_config, overrides, message):
    with pytest.raises(TfftError, match=message):
        t5_config(**overrides)


def test_predict_examples_from_question_context_and_text(tiny_t5_dir):
    qa = tfft.Config(task="t5_qa", model=tiny_t5_dir, mode="predict", question=("Who?",), context=("Ana.",))
    assert get_task("t5_qa").predict_examples(qa)["text"].tolist() == ["question: Who? context: Ana."]
    t2t = tfft.Config(task="text2text", model=tiny_t5_dir, mode="predict", text=("red cat",))
    assert get_task("text2text").predict_examples(t2t)["text"].tolist() == ["red cat"]
    with pytest.raises(TfftError, match="--text fills one input column"):
        get_task("t5_qa").predict_examples(qa.replace(question=(), context=(), text=("x",)))


def test_generation_metrics_run_every_n_epochs_and_after_the_last():
    from tfft.training.callbacks import EvaluateAndKeepBest

    calls = []
    keeper = EvaluateAndKeepBest(lambda: calls.append(len(calls)) or {"f1": 0.1 * len(calls)}, "f1", every=3)
    keeper.set_model(tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(1,))]))
    keeper.set_params({"epochs": 7})
    logs = [{} for _ in range(7)]
    for epoch in range(7):
        keeper.on_epoch_end(epoch, logs[epoch])
    assert [i for i, log in enumerate(logs) if "val_f1" in log] == [2, 5, 6]  # epochs 3, 6 and the last, 7
    assert keeper.best_epoch == 6


class TestT5Learning:
    """Run in a pytest-xdist worker of their own (one scope per class)."""

    @pytest.mark.slow
    def test_tiny_t5_learns_to_reverse_and_the_export_generates_the_same_ids(self, t5_config, tmp_path):
        rows = reverse_rows(16, 3)
        cfg = t5_config(rows, validation_file=write_csv(str(tmp_path / "val.csv"), rows, header=("source", "target")),
                        epochs=40, batch_size=8, learning_rate=3e-3, warmup_ratio=0.05, length_buckets=0)
        train_ds, _ = tfft.datasets(cfg)
        model = tfft.build_model(cfg)
        model.fit(train_ds, epochs=cfg.epochs, verbose=0)
        assert tfft.evaluate(model, cfg, "validation")["exact_match"] >= 0.9  # greedy output == reversed words
        predictions = tfft.predict(model, cfg, [source for source, _ in rows])
        assert sum(p["text"] == target for p, (_, target) in zip(predictions, rows)) >= 0.9 * len(rows)

        export = tfft.export(model, cfg)
        prepared = prepare(cfg)
        validation = prepared.features["validation"]
        batch = next(iter(api.eval_dataset(cfg, prepared, validation, with_labels=False)))  # shortest first
        first = np.argsort(validation.lengths(), kind="stable")[:len(batch["input_ids"])]
        in_process = api.split_outputs(model, cfg, "validation")["sequences"][first]
        np.savez(tmp_path / "in.npz", **{k: v.numpy() for k, v in batch.items()})
        code = ("import json, sys, numpy as np, tensorflow as tf, tensorflow_text\n"
                "loaded = tf.saved_model.load(sys.argv[1])\n"
                "d = np.load(sys.argv[2])\n"
                "ids = loaded.signatures['serve_ids'](input_ids=tf.constant(d['input_ids']),"
                " attention_mask=tf.constant(d['attention_mask']))['sequences'].numpy().tolist()\n"
                "text = loaded.signatures['serving_default'](text=tf.constant(json.loads(sys.argv[3])))['text']\n"
                "print(json.dumps([ids, [t.decode() for t in text.numpy()]]))")
        sources = [source for source, _ in rows] + ["", "RED  cat, é 東!"]
        proc = run_python(["-c", code, export, str(tmp_path / "in.npz"), json.dumps(sources)],
                          env={"TF_USE_LEGACY_KERAS": ""})
        assert proc.returncode == 0, proc.stderr[-2000:]
        served_ids, served_text = json.loads(proc.stdout.strip().splitlines()[-1])
        np.testing.assert_array_equal(np.asarray(served_ids), in_process)
        assert served_text == [p["text"] for p in tfft.predict(model, cfg, sources)]  # raw text in, text out
        saved = json.load(open(f"{export}/assets/tfft.json"))
        assert saved["extras"]["generation"]["num_beams"] == 1
        signatures = saved["serving"]["signatures"]
        assert signatures["serve_ids"]["ops"] == [] and signatures["serve_ids"]["xla"]  # the compiled beam search
        assert signatures["serving_default"]["ops"] == ["SentencepieceDetokenizeOp", "SentencepieceTokenizeOp"]
