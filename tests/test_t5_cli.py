"""The T5 demo recipe through the CLI, in subprocesses: a tiny T5 built from scratch on a
slice of the shipped QA sample, then predict with --question/--context, and bad input."""

import json
import os

import pytest

from conftest import board_events, run_python

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One short run of flags/t5_demo.flags (64 training examples, 1 epoch)."""
    tmp = tmp_path_factory.mktemp("t5cli")
    args = ["-m", "tfft.main", "--flagfile=flags/t5_demo.flags", "--epochs=1", "--max_train_samples=64",
            "--max_eval_samples=16", f"--output_dir={tmp / 'run'}", f"--export_dir={tmp / 'exports'}",
            f"--cache_dir={tmp / 'cache'}"]
    return tmp, run_python(args)


def test_demo_flags_train_score_write_predictions_and_export(demo_run):
    tmp, proc = demo_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.load(open(tmp / "run" / "results.json"))
    for split in ("eval", "test"):
        assert set(results[split]) == {"exact_match", "f1", "rouge_l"}
        assert all(0.0 <= v <= 1.0 for v in results[split].values())
    rows = [json.loads(line) for line in open(tmp / "run" / "predictions.jsonl")]
    assert {r["split"] for r in rows} == {"validation", "test"} and len(rows) == 32
    assert rows[0]["input"].startswith("question: ") and {"target", "prediction"} <= set(rows[0])
    assert os.path.exists(os.path.join(results["export"], "saved_model.pb"))
    assert os.path.exists(tmp / "run" / "model" / "tokenizer.json")  # the tokenizer built for the run


def test_the_board_holds_the_epoch_s_scores_and_five_generated_answers_beside_their_references(demo_run):
    tmp, proc = demo_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    board = board_events(tmp / "run" / "tensorboard")
    assert {"exact_match", "f1", "rouge_l", "loss"} <= set(board["validation"])
    assert {"loss", "learning_rate"} <= set(board["train"])
    (step, table), = board["validation"]["predictions"]
    header, rule, *rows = table.splitlines()
    assert step == 1 and header == "| input | prediction | reference |" and len(rows) == 5
    validation = [json.loads(line) for line in open(tmp / "run" / "predictions.jsonl")][:5]
    assert all(row.startswith(f"| {r['input'][:50]}") and row.endswith(f" | {r['target']} |")
               for row, r in zip(rows, validation)), (rows, validation)
    assert f"tensorboard: {tmp / 'run' / 'tensorboard'} (tensorboard --logdir {tmp / 'run' / 'tensorboard'})" \
        in proc.stdout.splitlines()


def test_predict_prints_the_generated_answer(demo_run):
    tmp, _ = demo_run
    proc = run_python(["-m", "tfft.main", "--task=t5_qa", f"--model={tmp / 'run' / 'model'}", "--mode=predict",
                       "--question=Where does Ana live?", "--context=Ana lives in Oslo. Ana is a baker.",
                       "--max_length=80", "--num_beams=2"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [ln for ln in proc.stdout.splitlines() if "\t" in ln]
    assert len(lines) == 1 and "\tquestion: Where does Ana live? context: Ana lives" in lines[0]  # answer, tab, input


def _user_error(args):
    proc = run_python(["-m", "tfft.main", *args])
    assert proc.returncode == 2, (proc.stdout[-1000:], proc.stderr[-2000:])
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return errors[0]


def test_bad_input_is_one_line_and_exit_2(demo_run, tmp_path):
    tmp, _ = demo_run
    assert "--num_beams must be >= 1 (received 0)" in _user_error(["--flagfile=flags/t5_demo.flags",
                                                                    "--num_beams=0"])
    message = _user_error(["--flagfile=flags/t5_demo.flags", "--target_column=answer",
                           f"--output_dir={tmp_path / 'o'}", f"--cache_dir={tmp / 'cache'}"])
    assert "no target column 'answer' (columns found: context, question, text)" in message
    assert "is built from the training data" in _user_error(
        ["--task=t5_qa", "--model=tiny-t5", "--mode=predict", "--question=q", "--context=c"])
