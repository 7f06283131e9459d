"""The CLI end to end, in subprocesses: flagfile -> train -> results.json, the other modes,
and user errors that end in one line and exit status 2."""

import json
import os

import pytest

from conftest import board_events, png_size, run_python

pytestmark = pytest.mark.slow


def flagfile(path, **flags):
    path.write_text("".join(f"--{k}={v}\n" for k, v in flags.items()))
    return str(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir):
    """One CLI training run on keyword data, shared by the tests below."""
    from conftest import keyword_rows, write_csv

    tmp = tmp_path_factory.mktemp("cli")
    files = {s: write_csv(str(tmp / f"{s}.csv"), keyword_rows(n, seed))
             for s, n, seed in (("train", 320, 1), ("validation", 80, 2), ("test", 80, 3))}
    flags = dict(task="classification", model=tiny_model_dir, train_file=files["train"],
                 validation_file=files["validation"], test_file=files["test"], max_length=32, batch_size=16,
                 epochs=6, learning_rate=2e-3, output_dir=tmp / "run", export_dir=tmp / "exports",
                 export_name="kw", cache_dir=tmp / "cache")
    proc = run_python(["-m", "tfft.main", f"--flagfile={flagfile(tmp / 'run.flags', **flags)}"])
    return tmp, flags, proc


def test_train_writes_results_model_and_export(trained):
    tmp, flags, proc = trained
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.load(open(tmp / "run" / "results.json"))
    assert results["task"] == "classification"
    assert results["test"]["accuracy"] >= 0.9 and set(results["eval"]) >= {"accuracy", "f1"}
    assert results["export"] == str(tmp / "exports" / "kw" / "1")
    assert os.path.exists(os.path.join(results["export"], "saved_model.pb"))
    assert os.path.exists(tmp / "run" / "curves.png")
    assert os.path.exists(tmp / "run" / "model" / "tfft.json")
    assert "== Summary ==" in proc.stdout and "untrained head" in proc.stdout


def test_the_run_draws_its_confusion_matrix_logs_every_epoch_to_tensorboard_and_names_both(trained):
    tmp, _, proc = trained
    run = tmp / "run"
    assert png_size(run / "confusion_matrix.png") == (900, 500)  # two 4-inch panels at 100 dpi
    board = board_events(run / "tensorboard")
    epochs = list(range(1, 7))
    for run_name, tags in (("train", ("loss", "accuracy", "learning_rate")),
                           ("validation", ("loss", "accuracy", "f1"))):
        for tag in tags:
            assert [step for step, _ in board[run_name][tag]] == epochs, (run_name, tag)
    results = json.load(open(run / "results.json"))
    assert [v for _, v in board["validation"]["f1"]] == pytest.approx(results["history"]["val_f1"])
    rates = [v for _, v in board["train"]["learning_rate"]]
    assert rates == sorted(rates, reverse=True) and 0 < rates[-1] < 2e-3  # decays from the 2e-3 peak
    assert "predictions" not in board["validation"]  # classification: no text summary
    lines = proc.stdout.splitlines()
    assert f"curves: {run / 'curves.png'}" in lines
    assert f"confusion matrix (test): {run / 'confusion_matrix.png'}" in lines
    assert f"tensorboard: {run / 'tensorboard'} (tensorboard --logdir {run / 'tensorboard'})" in lines
    assert results["figures"] == [{"name": "confusion_matrix", "split": "test",
                                   "path": str(run / "confusion_matrix.png")}]


def test_console_is_free_of_known_noise(trained):
    _, _, proc = trained
    for noise in ("cuda", "cpu_feature_guard", "absl::InitializeLog", "deprecated", "Traceback", "oneDNN supports"):
        assert noise not in proc.stderr + proc.stdout, noise


def test_each_epoch_ends_in_a_line_with_its_number_of_the_run_its_time_and_metrics(trained):
    _, _, proc = trained
    ends = [line for line in proc.stdout.splitlines() if line.startswith("Epoch ") and " steps in " in line]
    assert [line.split(":")[0] for line in ends] == [f"Epoch {k}/6" for k in range(1, 7)], proc.stdout
    assert all(" - loss " in line and " - val_accuracy " in line for line in ends), ends


def test_rerunning_a_completed_run_prints_one_line_exits_0_and_writes_nothing(trained):
    tmp, _, _ = trained
    results = tmp / "run" / "results.json"
    before = sorted(os.listdir(tmp / "run")), sorted(os.listdir(tmp / "exports" / "kw")), results.read_text()
    proc = run_python(["-m", "tfft.main", f"--flagfile={tmp / 'run.flags'}"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines() == [f"Run in {tmp / 'run'} is already complete (results: {results}, export: "
                                        f"{tmp / 'exports' / 'kw' / '1'}); pass --overwrite_output_dir to train again."]
    assert (sorted(os.listdir(tmp / "run")), sorted(os.listdir(tmp / "exports" / "kw")), results.read_text()) == before


def test_predict_prints_label_and_probability(trained):
    tmp, _, _ = trained
    proc = run_python(["-m", "tfft.main", "--task=classification", f"--model={tmp / 'run' / 'model'}",
                       "--mode=predict", "--text=a great and lovely film .", "--text=an awful boring plot ."])
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [ln for ln in proc.stdout.splitlines() if "\t" in ln]
    assert lines[0].startswith("positive 0.") and lines[1].startswith("negative 0.")


def test_export_mode_reexports_a_trained_run_as_the_next_version(trained):
    tmp, flags, _ = trained
    proc = run_python(["-m", "tfft.main", "--task=classification", f"--model={tmp / 'run' / 'model'}",
                       "--mode=export", f"--export_dir={tmp / 'exports'}", "--export_name=kw",
                       f"--output_dir={tmp / 'export-run'}"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(os.listdir(tmp / "exports" / "kw")) == ["1", "2"]


def test_evaluate_mode_scores_the_trained_model(trained):
    tmp, flags, _ = trained
    proc = run_python(["-m", "tfft.main", "--task=classification", f"--model={tmp / 'run' / 'model'}",
                       "--mode=evaluate", f"--test_file={flags['test_file']}", "--max_length=32",
                       f"--output_dir={tmp / 'eval-run'}", f"--cache_dir={tmp / 'cache'}"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.load(open(tmp / "eval-run" / "results.json"))["test"]["accuracy"] >= 0.9


@pytest.mark.parametrize("arg", ["--help", "-h"])
def test_help_is_a_short_usage_of_tasks_modes_and_main_flags(arg):
    from tfft.config import MODES
    from tfft.tasks import names

    proc = run_python(["-m", "tfft.main", arg])
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Fine-tune") and len(lines) < 100, proc.stdout
    assert "usage: python -m tfft.main" in proc.stdout and "--helpfull" in lines[-1]
    assert all(name in proc.stdout for name in names())
    modes = lines[lines.index("Modes (--mode)") + 1:]
    assert [ln.split()[0] for ln in modes[:modes.index("")] if not ln.startswith("   ")] == list(MODES)
    assert {"What to run and where to write it", "Optimisation, evaluation and hardware"} <= set(lines)
    assert "  --batch_size=16 " in proc.stdout and "--train_file" in proc.stdout
    assert "absl" not in proc.stdout and "--pdb" not in proc.stdout and "Try --helpfull" not in proc.stdout


def _user_error(args):
    proc = run_python(["-m", "tfft.main", *args])
    assert proc.returncode == 2, (proc.stdout[-1000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def test_user_errors_are_one_line_and_exit_2(trained, tmp_path):
    tmp, flags, _ = trained
    assert "Unknown task 'nope'" in _user_error(["--task=nope"])
    assert "--batch_size must be a positive integer (received 0)" in _user_error(
        ["--task=classification", "--model=x", "--train_file=t.csv", "--batch_size=0"])
    assert "--train_file not found" in _user_error(
        ["--task=classification", f"--model={tmp / 'run' / 'model'}", f"--train_file={tmp_path / 'none.csv'}",
         f"--output_dir={tmp_path / 'o'}"])
    assert "holds no model" in _user_error(
        ["--task=classification", f"--model={tmp_path}", f"--train_file={flags['train_file']}",
         f"--output_dir={tmp_path / 'o'}"])


def test_an_output_dir_holding_a_different_run_is_kept(trained, tmp_path):
    tmp, flags, _ = trained
    changed = {**flags, "epochs": 1}
    before = open(tmp / "run" / "results.json").read()
    message = _user_error([f"--flagfile={flagfile(tmp_path / 'x.flags', **changed)}"])
    assert "already holds a different run (differs in: epochs)" in message
    assert open(tmp / "run" / "results.json").read() == before


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
@pytest.mark.parametrize("mode", ["evaluate", "export"])
def test_an_output_dir_that_cannot_be_created_is_one_line(tiny_model_dir, mode):
    message = _user_error(["--task=classification", f"--model={tiny_model_dir}", f"--mode={mode}",
                           "--label_names=negative,positive", "--output_dir=/proc/tfft-run"])
    assert "--output_dir '/proc/tfft-run' cannot be created in '/proc' (No such file or directory)" in message


def test_the_installed_tfft_script_prints_the_usage_under_its_own_name():
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(sys.executable), "tfft")  # pip's console script beside the venv python
    assert os.path.isfile(script), "tfft is not installed: run `make install` (pip install -e .)"
    proc = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("Fine-tune") and "usage: tfft [--flagfile=FILE]" in proc.stdout
    assert "usage: python -m" not in proc.stdout and "  tfft --flagfile=flags/demo.flags" in proc.stdout
    assert "--helpfull" in proc.stdout.splitlines()[-1]
