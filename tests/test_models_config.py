"""TF Serving's model config file for several exports."""

import os

import pytest
from google.protobuf import text_format

import tfft  # noqa: F401  (before TensorFlow)
from conftest import run_python
from tfft.errors import TfftError
from tfft.serving.models_config import models_config


def _export(root, name, versions=(1,)):
    for v in versions:
        os.makedirs(root / name / str(v))
        (root / name / str(v) / "saved_model.pb").write_bytes(b"")
    return str(root / name)


def _parse(text):
    from tensorflow_serving.config import model_server_config_pb2

    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


def test_each_export_becomes_a_model_named_after_its_directory(tmp_path):
    dirs = [_export(tmp_path, "imdb", (1, 2)), _export(tmp_path, "squad", (3,))]
    parsed = _parse(models_config(dirs))
    assert [(c.name, c.base_path, c.model_platform) for c in parsed.model_config_list.config] == [
        ("imdb", str(tmp_path / "imdb"), "tensorflow"), ("squad", str(tmp_path / "squad"), "tensorflow")]
    assert all(c.model_version_policy.latest.num_versions == 1 for c in parsed.model_config_list.config)
    mounted = _parse(models_config(dirs, root="/models/", versions="all")).model_config_list.config
    assert [c.base_path for c in mounted] == ["/models/imdb", "/models/squad"]
    assert all(c.model_version_policy.HasField("all") for c in mounted)


@pytest.mark.parametrize("make, message", [
    (lambda p: [_export(p, "a"), _export(p / "other", "a")], "Two models would be served as 'a'"),
    (lambda p: [str(p / "missing")], "holds no exported version"),
    (lambda p: [_export(p, "a") + "/1"], "looks like a version directory: pass"),
    (lambda p: [], "No export directories given"),
])
def test_bad_directories_are_one_clear_error(tmp_path, make, message):
    with pytest.raises(TfftError, match=message):
        models_config(make(tmp_path))


def test_the_tool_writes_a_new_file_and_never_overwrites_one(tmp_path):
    a, out = _export(tmp_path, "a"), tmp_path / "models.config"
    proc = run_python(["-m", "tfft.serving.models_config", a, "--root=/models", f"--out={out}"])
    assert proc.returncode == 0, proc.stderr
    assert [c.base_path for c in _parse(out.read_text()).model_config_list.config] == ["/models/a"]
    out.write_text("kept")
    proc = run_python(["-m", "tfft.serving.models_config", a, f"--out={out}"])
    assert proc.returncode == 2 and proc.stderr.startswith("error: --out=") and out.read_text() == "kept"


def test_batching_out_writes_the_servers_batching_file_and_prints_the_full_server_command(tmp_path):
    from test_batching import check_servable, parse_batching

    a, out, batching = _export(tmp_path, "a"), tmp_path / "models.config", tmp_path / "batching.txt"
    proc = run_python(["-m", "tfft.serving.models_config", a, f"--out={out}", f"--batching_out={batching}",
                       "--batch_threads=6"])
    assert proc.returncode == 0, proc.stderr
    params = parse_batching(batching.read_text())
    check_servable(params)
    assert params.num_batch_threads.value == 6
    assert proc.stdout.splitlines()[-1] == (
        f"serve with: tensorflow_model_server --port=8500 --rest_api_port=8501 --model_config_file={out} "
        f"--enable_batching=true --batching_parameters_file={batching} --enable_per_model_batching_parameters=true "
        "--enable_model_warmup=true")
    batching.write_text("kept")
    for bad, message in ((["--batch_threads=0"], "--batch_threads must be at least 1, got 0"),
                         (["--serving_device=tpu"], "--serving_device must be one of cpu, gpu, got 'tpu'"),
                         ([], f"--batching_out={batching} exists")):
        proc = run_python(["-m", "tfft.serving.models_config", a, f"--batching_out={batching}", *bad])
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert batching.read_text() == "kept"
