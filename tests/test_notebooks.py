"""The example notebooks (``examples/*.ipynb``) run top to bottom as a user runs them.

Each runs in a kernel started with this venv's Python, in a temporary directory: its runs,
exports and token cache go there, nothing into the repository. A notebook is stored without
outputs, and what a cell prints is checked where it says something real (held-out accuracy,
the export's answers).
"""

from __future__ import annotations

import ast
import glob
import json
import os
import re
import sys

import pytest

from conftest import ROOT

NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "examples", "*.ipynb")))
KERNEL = "tfft-test-venv"


def _names() -> list[str]:
    return [os.path.basename(p)[: -len(".ipynb")] for p in NOTEBOOKS]


def test_the_five_notebooks_exist():
    assert {"quickstart", "emotions", "qa", "t5", "modes"} <= set(_names())


@pytest.mark.parametrize("name", _names())
def test_notebook_is_stored_without_outputs(name):
    with open(os.path.join(ROOT, "examples", f"{name}.ipynb"), encoding="utf-8") as f:
        cells = json.load(f)["cells"]
    dirty = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{name}.ipynb has outputs in cells {dirty}: clear them before committing"


def test_sample_data_is_found_from_a_directory_outside_the_repository(tmp_path, monkeypatch):
    from tfft import notebook

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(notebook.SAMPLES_ENV, raising=False)
    assert notebook.sample_data("imdb_sample") == os.path.join(ROOT, "examples", "data", "imdb_sample")
    (tmp_path / "copy" / "imdb_sample").mkdir(parents=True)
    monkeypatch.setenv(notebook.SAMPLES_ENV, str(tmp_path / "copy"))
    assert notebook.sample_data("imdb_sample") == str(tmp_path / "copy" / "imdb_sample")


def test_a_missing_sample_is_one_clear_error_saying_where_it_looked(tmp_path, monkeypatch):
    from tfft import TfftError, notebook

    monkeypatch.setenv(notebook.SAMPLES_ENV, str(tmp_path))
    with pytest.raises(TfftError, match=r"The sample 'nope' was not found \(looked in .*TFFT_EXAMPLES"):
        notebook.sample_data("nope")


def test_describe_runtime_names_the_strategy_tfft_uses_without_an_accelerator(capsys, monkeypatch):
    from tfft import notebook

    monkeypatch.delenv("COLAB_TPU_ADDR", raising=False)
    assert notebook.describe_runtime() == "auto"
    assert capsys.readouterr().out.startswith("CPU only: tfft uses _DefaultDistributionStrategy with 1 replica(s)")
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    assert notebook.describe_runtime() == "tpu" and "TPUStrategy" in capsys.readouterr().out


def _kernelspec(directory) -> str:
    """A kernelspec that starts ``sys.executable`` (this venv, with its ipykernel), whatever other
    kernels the machine has; returned as a JUPYTER_PATH entry."""
    spec = directory / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tfft test venv", "language": "python"}))
    return str(directory)


def execute(name: str, tmp_path, monkeypatch) -> tuple[str, int]:
    """Runs ``examples/<name>.ipynb`` in ``tmp_path``; returns everything its cells printed and
    the number of images they showed. Fails on the first cell that raises (nbclient's error
    names the cell and quotes its traceback)."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_PATH", _kernelspec(tmp_path / "jupyter"))
    monkeypatch.setenv("TFFT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TFFT_EXAMPLES", os.path.join(ROOT, "examples", "data"))
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.read(os.path.join(ROOT, "examples", f"{name}.ipynb"), as_version=4)
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=1800, startup_timeout=600,
                            resources={"metadata": {"path": str(work)}})
    before = sorted(os.listdir(os.path.join(ROOT, "examples")))
    try:
        client.execute()
    finally:  # the executed copy, outputs and all, to read when an assertion below fails
        nbformat.write(nb, str(tmp_path / f"{name}.executed.ipynb"))
    assert sorted(os.listdir(os.path.join(ROOT, "examples"))) == before, "the notebook wrote into examples/"
    outputs = [out for cell in nb.cells for out in cell.get("outputs", [])]
    errors = [f"{out['ename']}: {out['evalue']}" for out in outputs if out.get("output_type") == "error"]
    assert not errors, f"{name}.ipynb: {errors}"
    texts = [out.get("text", "") or out.get("data", {}).get("text/plain", "") for out in outputs]
    return "\n".join(texts), sum("image/png" in out.get("data", {}) for out in outputs)


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"no line matching {pattern!r} in the notebook's output:\n{text[-3000:]}"
    return float(match.group(1))


RUNS = [pytest.mark.slow, pytest.mark.notebooks]
RUNS_MINILM = RUNS + [pytest.mark.minilm]


# One class per notebook: `pytest -n auto --dist loadscope` sends each class to its own worker,
# so the notebooks run side by side rather than one after another in one worker.
class TestQuickstart:
    pytestmark = RUNS_MINILM

    def test_fine_tunes_exports_and_the_export_labels_raw_strings(self, tmp_path, monkeypatch):
        printed, images = execute("quickstart", tmp_path, monkeypatch)
        assert images >= 2  # training curves, confusion matrix
        assert _number(r"test accuracy: ([0-9.]+)", printed) >= 0.8
        exported = re.search(r"export says: (\[.*\])", printed)
        assert exported and set(ast.literal_eval(exported.group(1))) <= {"positive", "negative"}
        assert f"predict says: {exported.group(1)}" in printed  # raw strings in, the same labels out
        assert glob.glob(str(tmp_path / "work" / "saved_models" / "quickstart" / "1" / "saved_model.pb"))


class TestEmotions:
    pytestmark = RUNS_MINILM

    def test_tuned_thresholds_never_lower_validation_macro_f1_and_the_export_names_labels(self, tmp_path, monkeypatch):
        printed, images = execute("emotions", tmp_path, monkeypatch)
        at_half = _number(r"validation macro-F1: ([0-9.]+) at 0.5", printed)
        assert _number(r"validation macro-F1: [0-9.]+ at 0.5 -> ([0-9.]+) tuned", printed) >= at_half > 0
        assert images >= 2  # curves, per-label F1 bars
        assert "precision" in printed and "recall" in printed  # the per-label table
        exported = re.search(r"export says: \[(.*)\]", printed)
        assert exported and exported.group(1).startswith("'")  # strings: comma-joined label names


class TestQA:
    pytestmark = RUNS_MINILM

    def test_export_answers_a_raw_question_as_predict_does_with_the_span_it_quotes(self, tmp_path, monkeypatch):
        printed, _ = execute("qa", tmp_path, monkeypatch)
        assert _number(r"validation exact_match: ([0-9.]+)", printed) >= 0
        exported = re.search(r"export says: '(.*)' at \[(-?\d+):(-?\d+)\]", printed)
        assert exported, printed[-2000:]
        answer, start, end = exported.group(1), int(exported.group(2)), int(exported.group(3))
        assert f"predict said: '{answer}'" in printed
        context = ("Brenford was founded by Ada Weber in 1820. It lies on the banks of the River Esk. "
                   "Today Brenford is best known for a horse fair held every autumn.")
        assert context[start:end] == answer if answer else (start, end) == (-1, -1)


class TestT5:
    pytestmark = RUNS

    def test_three_generation_settings_decode_and_a_one_token_cap_holds(self, tmp_path, monkeypatch):
        printed, images = execute("t5", tmp_path, monkeypatch)
        assert _number(r"'rouge_l': ([0-9.]+)", printed) >= 0
        capped = re.search(r"4 beams, at most 1 token: \[(.*)\]", printed)
        assert capped and all(len(t.strip(" '").split()) <= 1 for t in capped.group(1).split(","))
        assert re.search(r"greedy: \[.+\]", printed) and images >= 1
        assert re.search(r"predicted: \S", printed)


class TestModes:
    pytestmark = RUNS_MINILM

    def test_lora_and_frozen_cached_both_learn_and_export(self, tmp_path, monkeypatch):
        printed, images = execute("modes", tmp_path, monkeypatch)
        for mode in ("lora", "frozen, cached features"):
            assert _number(rf"{mode}: test accuracy ([0-9.]+)", printed) >= 0.7, mode
        assert images >= 2
        assert glob.glob(str(tmp_path / "work" / "saved_models" / "lora" / "1" / "saved_model.pb"))
        assert glob.glob(str(tmp_path / "work" / "runs" / "lora" / "adapter_weights.npz"))
