"""The task harness: any registered task on any tiny model directory, through tfft's normal path.

:func:`run_task_test` builds the task's model from the directory with ``tfft.Config`` and
``tfft.build_model``, trains one step, saves it as a run does, reloads it (same outputs),
exports it (the export checks itself against the Keras model before it is published) and
returns what a TensorFlow-only process needs to call its ``serving_default``
(:func:`serve_in_tensorflow_only`). A registered task gets its data from the writer of its
task class (:data:`DATA`); a task class without one is skipped with the reason.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Callable

import numpy as np
import pytest

import tfft
from conftest import emotion_rows, keyword_rows, reverse_rows, write_csv, write_emotions
from qa_data import qa_rows, write_jsonl
from tfft.errors import TfftError
from tfft.tasks import ClassificationTask, MultiLabelTask, QuestionAnsweringTask, Seq2SeqTask, get_task


def _qa_file(tmp) -> dict[str, Any]:
    return {"train_file": write_jsonl(tmp / "train.jsonl", qa_rows(16, 1, words=(8, 20))), "max_length": 24,
            "doc_stride": 6}


def _t5_qa_file(tmp) -> dict[str, Any]:
    rows = [(r["question"], r["context"], r["answers"]["text"][0]) for r in qa_rows(16, 1, words=(4, 8))]
    return {"train_file": write_csv(str(tmp / "train.csv"), rows, header=("question", "context", "text")),
            "max_target_length": 8}


def _seq2seq_file(tmp, task: Any) -> dict[str, Any]:
    if task.name == "t5_qa":
        return _t5_qa_file(tmp)
    return {"train_file": write_csv(str(tmp / "train.csv"), reverse_rows(16, 1), header=("source", "target")),
            "max_target_length": 8}


#: Task class -> ``(tmp, task) -> Config fields`` giving it a small training file.
DATA: dict[type, Callable[[Any, Any], dict[str, Any]]] = {
    MultiLabelTask: lambda tmp, task: {"train_file": write_emotions(str(tmp / "train.csv"), emotion_rows(16, 1)),
                                        "text_column": "text", "id_column": "id"},
    ClassificationTask: lambda tmp, task: {"train_file": write_csv(str(tmp / "train.csv"), keyword_rows(16, 1))},
    QuestionAnsweringTask: lambda tmp, task: _qa_file(tmp),
    Seq2SeqTask: _seq2seq_file,
}
#: What a raw-text signature is called with, per input name.
TEXTS = {"text": ["the movie was great .", "awful"], "question": ["what is it ?", "what is it ?"],
         "context": ["the film was superb and lovely", "a boring story"]}


@dataclasses.dataclass
class Case:
    """One exported (task, model) pair: where, what ``serving_default`` takes, and a request for it."""

    path: str
    default_input: str
    request: dict[str, Any]


def task_fields(task_name: str, tmp) -> dict[str, Any]:
    """Config fields with a training file for ``task_name``; skips a task class without a data writer."""
    task = get_task(task_name)
    writer = next((w for cls, w in DATA.items() if isinstance(task, cls)), None)
    if writer is None:
        pytest.skip(f"task {task_name} ({type(task).__name__}) has no data writer in tests/harness.py DATA")
    return writer(tmp, task)


def run_task_test(task: str, model_dir: str, tmp, **overrides: Any) -> Case:
    """Build, one train step, save, reload (same outputs), export with its self-check.

    Returns:
        The export and a ``serving_default`` request for :func:`serve_in_tensorflow_only`.
    """
    from tfft.runner import save_trained

    fields = dict(task=task, model=model_dir, max_length=32, batch_size=8, epochs=1, learning_rate=1e-2,
                  warmup_ratio=0.0, num_beams=1, output_dir=str(tmp / "run"), export_dir=str(tmp / "exports"),
                  cache_dir=str(tmp / "cache"), seed=0)
    cfg = tfft.Config(**{**fields, **task_fields(task, tmp), **overrides})
    train_ds, _ = tfft.datasets(cfg)
    model = tfft.build_model(cfg)
    x, y = next(iter(train_ds))
    if hasattr(model, "shift_right"):  # a seq2seq model is called with its teacher-forced decoder inputs
        x = {**x, "decoder_input_ids": model.shift_right(y)}
    before = [w.numpy() for w in model.trainable_weights]
    loss = model.train_on_batch(x, y, return_dict=True)["loss"]
    assert np.isfinite(loss), loss
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
    trained = _numpy(model(x, training=False))
    saved = save_trained(model, str(tmp / "run" / "model"))
    reloaded = tfft.build_model(cfg.replace(model=saved))
    for name, value in _numpy(reloaded(x, training=False)).items():
        np.testing.assert_allclose(value, trained[name], atol=1e-4, err_msg=name)
    path = tfft.export(reloaded, cfg.replace(model=saved))
    with open(os.path.join(path, "assets", "tfft.json"), encoding="utf-8") as f:
        serving = json.load(f)["serving"]
    inputs = serving["signatures"]["serving_default"]["inputs"]
    return Case(path, serving["serving_default_input"], request(inputs, reloaded.tokenizer))


def expect_no_task_class(task: str, model_dir: str, tmp) -> str:
    """The one-line error of a task whose model class the architecture lacks; returns it."""
    cfg = tfft.Config(**{"task": task, "model": model_dir, "max_length": 32, "cache_dir": str(tmp / "cache"),
                         "output_dir": str(tmp / "run"), **task_fields(task, tmp)})
    with pytest.raises(TfftError, match="has no TF class for") as err:
        tfft.build_model(cfg)
    assert "\n" not in str(err.value)
    return str(err.value)


def request(inputs: list[str], tokenizer: Any) -> dict[str, Any]:
    """A ``serving_default`` request: strings for text inputs, the tokenizer's ids for id inputs."""
    if all(name in TEXTS for name in inputs):
        return {name: TEXTS[name] for name in inputs}
    enc = tokenizer(TEXTS["question"], TEXTS["context"], padding=True, return_token_type_ids=True)
    return {name: [[int(v) for v in row] for row in enc[name]] for name in inputs}


SERVE = """
import json, sys
import tensorflow as tf
import tensorflow_text  # the in-graph tokenizers' ops
for path, req in json.loads(sys.stdin.read()):
    fn = tf.saved_model.load(path).signatures["serving_default"]
    args = {k: tf.constant(v, tf.string if isinstance(v[0], str) else tf.int32) for k, v in req.items()}
    out = fn(**args)
    print(json.dumps({"path": path, "outputs": sorted(out), "rows": [int(v.shape[0]) for v in out.values()]}))
print(json.dumps(sorted(m for m in ("transformers", "tfft") if m in sys.modules)))
"""


def serve_in_tensorflow_only(cases: list[Case]) -> list[dict[str, Any]]:
    """Calls each case's ``serving_default`` in one fresh process that imports only TensorFlow
    and tensorflow_text; returns each export's output names and batch sizes."""
    import subprocess
    import sys

    payload = json.dumps([(c.path, c.request) for c in cases])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_USE_LEGACY_KERAS": ""}
    proc = subprocess.run([sys.executable, "-c", SERVE], input=payload, capture_output=True, text=True, env=env,
                          timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    *lines, modules = proc.stdout.strip().splitlines()
    assert json.loads(modules) == [], modules  # neither tfft nor transformers was needed
    return [json.loads(line) for line in lines]


def _numpy(outputs: Any) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in outputs.items()}


__all__ = ["Case", "run_task_test", "expect_no_task_class", "serve_in_tensorflow_only", "task_fields"]
