"""Extractive QA end to end: a tiny model learns a synthetic task whose contexts span several
windows; its export serves the same logits without tfft; the CLI answers from a long context."""

import json
import random

import numpy as np
import pytest

import tfft
from conftest import board_events, run_python, write_csv
from qa_data import QUESTION, qa_row, qa_rows, write_jsonl, write_squad_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir):
    """One training run on the synthetic task (train: official JSON, validation: JSON Lines,
    test: CSV), shared by the tests below. Contexts of 30-60 words need 2-4 windows of 32 tokens."""
    tmp = tmp_path_factory.mktemp("qa")
    test_rows = qa_rows(100, 3)
    cfg = tfft.Config(
        task="qa", model=tiny_model_dir, train_file=write_squad_json(tmp / "train.json", qa_rows(600, 1)),
        validation_file=write_jsonl(tmp / "validation.jsonl", qa_rows(100, 2)),
        test_file=write_csv(str(tmp / "test.csv"), [(r["id"], r["question"], r["context"], json.dumps(r["answers"]))
                                                    for r in test_rows], header=("id", "question", "context", "answers")),
        max_length=32, doc_stride=8, batch_size=32, epochs=14, learning_rate=5e-3, output_dir=str(tmp / "run"),
        export_dir=str(tmp / "exports"), cache_dir=str(tmp / "cache"), seed=0)
    return cfg, tfft.run(cfg)


def test_tiny_model_learns_to_find_the_span_across_windows(trained):
    cfg, results = trained
    assert results["test"]["exact_match"] >= 90, results["test"]
    assert results["baseline"]["test"]["exact_match"] < 30
    assert set(results["eval"]) == {"exact_match", "f1"}
    predictions = json.load(open(f"{cfg.output_dir}/predictions.json"))
    nbest = json.load(open(f"{cfg.output_dir}/nbest_predictions.json"))
    assert len(predictions) == len(nbest) == 100 and set(predictions) == set(nbest)
    first = next(iter(nbest.values()))[0]
    assert set(first) == {"text", "probability", "start_logit", "end_logit", "answer_start"}


def test_each_epoch_s_board_shows_five_validation_questions_with_predicted_and_reference_answers(trained):
    cfg, results = trained
    board = board_events(f"{cfg.output_dir}/tensorboard")
    epochs = list(range(1, 15))
    assert [step for step, _ in board["validation"]["exact_match"]] == epochs
    assert [v for _, v in board["validation"]["f1"]] == pytest.approx(results["history"]["val_f1"])
    assert [step for step, _ in board["train"]["learning_rate"]] == epochs
    texts = board["validation"]["predictions"]
    assert [step for step, _ in texts] == epochs
    header, rule, *rows = texts[-1][1].splitlines()
    assert header == "| question | predicted answer | reference answers |" and len(rows) == 5
    validation = [json.loads(line) for line in open(cfg.validation_file)][:5]
    cells = [[c.strip() for c in row.strip("| ").split(" | ")] for row in rows]
    assert [c[0] for c in cells] == [e["question"].strip() for e in validation]
    assert [c[2] for c in cells] == [" / ".join(e["answers"]["text"]) for e in validation]
    assert sum(predicted == reference for _, predicted, reference in cells) >= 4  # the last epoch's, learned


def test_test_split_gets_its_predictions_nbest_and_jsonl_rows_as_validation_does(trained):
    cfg, results = trained
    test_ids = {r["id"] for r in qa_rows(100, 3)}
    predictions = json.load(open(f"{cfg.output_dir}/test_predictions.json"))
    nbest = json.load(open(f"{cfg.output_dir}/test_nbest_predictions.json"))
    assert set(predictions) == set(nbest) == test_ids
    assert set(json.load(open(f"{cfg.output_dir}/predictions.json"))) != test_ids  # validation's kept apart
    rows = [json.loads(line) for line in open(f"{cfg.output_dir}/predictions.jsonl")]
    assert {r["split"] for r in rows} == {"validation", "test"} and len(rows) == 200
    test_rows = {r["id"]: r for r in rows if r["split"] == "test"}
    assert {q: r["prediction"] for q, r in test_rows.items()} == predictions
    assert all(r["question"] and r["answers"] and 0.0 <= r["probability"] <= 1.0 for r in test_rows.values())
    right = sum(r["prediction"] in r["answers"] for r in test_rows.values()) / len(test_rows)
    assert abs(100 * right - results["test"]["exact_match"]) < 5  # the rows are what was scored


def test_export_serves_the_same_logits_in_a_tensorflow_only_process(trained, tmp_path):
    from tfft.tasks.qa.client import QAClient

    cfg, results = trained
    client = QAClient(results["export"])
    rows = qa_rows(3, 9, words=(10, 90))  # one context short, others several windows long
    inputs, windows = client.encode([r["question"] for r in rows], [r["context"] for r in rows])
    np.savez(tmp_path / "in.npz", **inputs)
    code = ("import sys, numpy as np, tensorflow as tf\n"
            "import tensorflow_text  # serving_default's ops (TF Serving has them built in)\n"
            "serve = tf.saved_model.load(sys.argv[1]).signatures['serve_ids']\n"
            "out = serve(**{k: tf.constant(v) for k, v in np.load(sys.argv[2]).items()})\n"
            "np.savez(sys.argv[3], **{k: v.numpy() for k, v in out.items()})\n"
            "print(sorted(m for m in ('transformers', 'tfft') if m in sys.modules))")
    proc = run_python(["-c", code, results["export"], str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
                      env={"TF_USE_LEGACY_KERAS": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    served = np.load(tmp_path / "out.npz")
    model = tfft.build_model(cfg.replace(mode="predict", model=results["model_dir"], question=("x",),
                                         context=("y",), train_file=None, validation_file=None, test_file=None))
    expected = model(inputs, training=False)["span_logits"].numpy()
    np.testing.assert_allclose(served["start_logits"], expected[:, 0], atol=1e-5)
    np.testing.assert_allclose(served["end_logits"], expected[:, 1], atol=1e-5)
    answers = client.answers(served["start_logits"], served["end_logits"], windows)
    assert [a["answer"] for a in answers] == [r["answers"]["text"][0] for r in rows]


def test_cli_predict_answers_from_a_context_many_windows_long(trained):
    _, results = trained
    row = qa_row(random.Random(11), "long", words=250)  # ~250 tokens: 17 windows of 32
    answer, start = row["answers"]["text"][0], row["answers"]["answer_start"][0]
    proc = run_python(["-m", "tfft.main", "--task=qa", f"--model={results['model_dir']}", "--mode=predict",
                       f"--question={QUESTION}", f"--context={row['context']}"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.endswith(f"\t{QUESTION}"))
    assert line.startswith(f"{answer} 0.") and f"[{start}:{start + len(answer)}]" in line, line


def test_cli_predict_input_errors_are_one_line(trained):
    _, results = trained
    proc = run_python(["-m", "tfft.main", "--task=qa", f"--model={results['model_dir']}", "--mode=predict",
                       "--question=a ?", "--question=b ?", "--context=x", "--context=y", "--context=z"])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")] == [
        "error: --mode=predict got 2 --question and 3 --context; pass one --context for all questions, "
        "or one per question."]
