"""SavedModel export: TF Serving layout, versioning, atomicity, and a TensorFlow-only reload."""

import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import tfft
from conftest import run_python
from tfft.errors import TfftError
from tfft.serving import ops, saved_model

pytestmark = pytest.mark.slow

RELOAD = """
import json, sys
import numpy as np
import tensorflow as tf
import tensorflow_text  # registers the in-graph tokenizer's ops (TF Serving has them built in)
path, inputs, out = sys.argv[1:4]
loaded = tf.saved_model.load(path)
fn = loaded.signatures["serve_ids"]
data = np.load(inputs)
result = fn(input_ids=tf.constant(data["input_ids"]), attention_mask=tf.constant(data["attention_mask"]))
np.savez(out, **{k: v.numpy() for k, v in result.items()})
print(json.dumps(sorted(m for m in ("transformers", "tfft") if m in sys.modules)))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_model_dir):
    from conftest import export_classifier

    return export_classifier(tmp_path_factory.mktemp("export"), tiny_model_dir)


def test_export_reloads_in_a_tensorflow_only_process_with_the_same_outputs(exported, tmp_path):
    cfg, model, path = exported
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 40, size=(3, 9)).astype(np.int32)
    mask = np.ones_like(ids)
    mask[1, 6:] = 0
    np.savez(tmp_path / "in.npz", input_ids=ids, attention_mask=mask)
    proc = run_python(["-c", RELOAD, path, str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
                      env={"TF_USE_LEGACY_KERAS": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []  # neither transformers nor tfft was needed
    served = np.load(tmp_path / "out.npz")
    logits = model({"input_ids": ids, "attention_mask": mask}, training=False)["logits"].numpy()
    expected = tf.nn.softmax(logits).numpy()
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-5)
    assert served["class_id"].tolist() == expected.argmax(-1).tolist()


def test_export_layout_assets_and_signature(exported):
    cfg, _, path = exported
    assert path == os.path.join(cfg.export_dir, "sentiment", "1")
    assets = os.path.join(path, "assets")
    assert open(os.path.join(assets, "labels.txt")).read().split() == ["negative", "positive"]
    assert os.path.exists(os.path.join(assets, "tokenizer", "tokenizer.json"))
    assert json.load(open(os.path.join(assets, "tfft.json")))["label_names"] == ["negative", "positive"]
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run([cli, "show", "--dir", path, "--tag_set", "serve", "--signature_def",
                            "serve_ids"], capture_output=True, text=True, check=True).stdout
    for expected in ("inputs['input_ids']", "inputs['attention_mask']", "DT_INT32", "shape: (-1, -1)",
                     "outputs['probabilities']", "outputs['class_id']", "outputs['label']"):
        assert expected in shown, shown
    shown = subprocess.run([cli, "show", "--dir", path, "--tag_set", "serve", "--signature_def",
                            "serving_default"], capture_output=True, text=True, check=True).stdout
    for expected in ("inputs['text']", "DT_STRING", "shape: (-1)", "outputs['label']", "outputs['probabilities']"):
        assert expected in shown, shown


def test_a_new_export_takes_the_next_version_and_keeps_the_old_one(exported):
    cfg, model, first = exported
    stamp = os.path.getmtime(os.path.join(first, "saved_model.pb"))
    os.makedirs(os.path.join(cfg.export_dir, "sentiment", "7"))  # a version someone else left
    second = tfft.export(model, cfg)
    assert second.endswith(os.path.join("sentiment", "8"))
    assert os.path.getmtime(os.path.join(first, "saved_model.pb")) == stamp


def test_a_failed_export_leaves_no_version_directory(exported, monkeypatch):
    cfg, model, _ = exported
    base = os.path.join(cfg.export_dir, "sentiment")
    before = sorted(os.listdir(base))

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        tfft.export(model, cfg)
    assert sorted(os.listdir(base)) == before
    assert saved_model.versions(base) == sorted(int(v) for v in before if v.isdigit())


def test_an_export_that_answers_differently_from_python_fails_and_publishes_nothing(exported, monkeypatch):
    import tfft.serving.text as text

    cfg, model, _ = exported
    base = os.path.join(cfg.export_dir, "sentiment")
    before = sorted(os.listdir(base))
    real = text.wordpiece_spec  # an in-graph tokenizer that keeps case, beside an uncased HF tokenizer
    monkeypatch.setattr(text, "wordpiece_spec", lambda tok: {**real(tok), "lowercase": False})
    with pytest.raises(TfftError, match="in-graph tokenizer gives other ids than the Hugging Face tokenizer"):
        tfft.export(model, cfg)
    assert sorted(os.listdir(base)) == before


def test_an_export_whose_outputs_differ_from_the_python_path_fails_and_publishes_nothing(exported, monkeypatch):
    from tfft.tasks.classification import ClassificationTask

    cfg, model, _ = exported
    base = os.path.join(cfg.export_dir, "sentiment")
    before = sorted(os.listdir(base))
    real = ClassificationTask.text_reference

    def shifted(self, *args):
        return {**(out := real(self, *args)), "probabilities": out["probabilities"] + 1e-3}

    monkeypatch.setattr(ClassificationTask, "text_reference", shifted)
    with pytest.raises(TfftError, match=r"serving_default output 'probabilities' differs .*max difference 0.001"):
        tfft.export(model, cfg)
    assert sorted(os.listdir(base)) == before


def test_export_records_each_signatures_non_core_ops(exported):
    _, _, path = exported
    serving = json.load(open(os.path.join(path, "assets", "tfft.json")))["serving"]
    assert serving["serving_default_input"] == "text"
    assert serving["signatures"]["serve_ids"] == {"inputs": ["attention_mask", "input_ids"], "ops": [], "xla": False}
    assert "FastWordpieceTokenizeWithOffsets" in serving["signatures"]["serving_default"]["ops"]
    assert set(serving["signatures"]["serving_default"]["ops"]) <= ops.TF_SERVING_TEXT_OPS  # so no warning


def test_ops_missing_from_tf_serving_are_named_per_signature():
    used = {"serving_default": ["FastWordpieceTokenizeWithOffsets", "SomeCustomOp"], "serve_ids": []}
    assert ops.missing_in_tf_serving(used) == {"serving_default": ["SomeCustomOp"]}


def test_warmup_requests_replay_through_the_text_signature_and_grpc_helpers_round_trip(exported):
    import tensorflow_text  # noqa: F401
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    from tfft.serving import client

    cfg, model, path = exported
    warmup = os.path.join(path, "assets.extra", "tf_serving_warmup_requests")
    serve = tf.saved_model.load(path).signatures["serving_default"]
    logs = [prediction_log_pb2.PredictionLog.FromString(r.numpy()) for r in tf.data.TFRecordDataset(warmup)]
    assert [len(tf.make_ndarray(log.predict_log.request.inputs["text"])) for log in logs] == [1, 2]
    request = logs[-1].predict_log.request
    assert request.model_spec.name == "sentiment" and request.model_spec.signature_name == "serving_default"
    out = serve(text=tf.constant(tf.make_ndarray(request.inputs["text"])))
    response = predict_pb2.PredictResponse()
    for name, value in out.items():
        response.outputs[name].CopyFrom(tf.make_tensor_proto(value.numpy()))
    rows = client.parse_grpc(response)
    assert [r["label"] for r in rows] == [model.info.label_names[int(r["class_id"])] for r in rows]
    assert all(isinstance(r["label"], str) and abs(sum(r["probabilities"]) - 1) < 1e-5 for r in rows)


def test_rest_bodies_and_replies_in_both_formats():
    from tfft.serving import client

    assert client.rest_url("localhost:8501", "imdb", 3) == "http://localhost:8501/v1/models/imdb/versions/3:predict"
    assert client.rest_body(["a", "b"]) == {"signature_name": "serving_default",
                                            "instances": [{"text": "a"}, {"text": "b"}]}
    assert client.rest_body(["a"], columnar=True) == {"signature_name": "serving_default", "inputs": {"text": ["a"]}}
    ids = client.rest_body([], signature="serve_ids", inputs={"input_ids": [[101, 102]], "attention_mask": [[1, 1]]})
    assert ids["instances"] == [{"input_ids": [101, 102], "attention_mask": [1, 1]}]
    rows = [{"label": "positive", "class_id": 1}, {"label": "negative", "class_id": 0}]
    assert client.parse_rest({"predictions": rows}) == rows
    assert client.parse_rest({"outputs": {"label": ["positive", "negative"], "class_id": [1, 0]}}) == rows
    with pytest.raises(ValueError, match="TF Serving returned an error: bad input"):
        client.parse_rest({"error": "bad input"})


def _modes(root: str) -> tuple[set[int], set[int]]:
    """The permission bits of every directory (``root`` included) and every file under ``root``."""
    dirs, files = {stat.S_IMODE(os.stat(root).st_mode)}, set()
    for parent, subdirs, names in os.walk(root):
        dirs |= {stat.S_IMODE(os.stat(os.path.join(parent, d)).st_mode) for d in subdirs}
        files |= {stat.S_IMODE(os.stat(os.path.join(parent, n)).st_mode) for n in names}
    return dirs, files


@pytest.mark.parametrize("umask, dirs, files", [(0o022, 0o755, 0o644), (0o027, 0o750, 0o640)],
                         ids=["umask-022", "umask-027"])
def test_a_published_version_and_model_dir_are_as_readable_as_the_umask_allows(exported, tmp_path, umask, dirs,
                                                                                files):
    """A TF Serving process running as another user must be able to read the version."""
    from tfft.runner import save_trained

    _, model, _ = exported
    cfg = exported[0].replace(export_dir=str(tmp_path / "exports"))
    old = os.umask(umask)
    try:
        published = [tfft.export(model, cfg), save_trained(model, str(tmp_path / "run" / "model"))]
    finally:
        os.umask(old)
    for path in published:
        assert _modes(path) == ({dirs}, {files}), path
