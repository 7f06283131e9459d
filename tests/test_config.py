"""Config validation and the flag mapping: each bad value is one clear TfftError."""

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from tfft.config import MODES, Config
from tfft.errors import TfftError
from conftest import ROOT


def make(**kw):
    base = dict(task="classification", model="some-model", train_file="train.csv")
    base.update(kw)
    return Config(**base)


def test_unknown_task_lists_known_tasks():
    with pytest.raises(TfftError, match=r"Unknown task 'sentiment'.*Known tasks: .*classification.*imdb"):
        make(task="sentiment")


@pytest.mark.parametrize("name,value", [("batch_size", 0), ("batch_size", -4), ("epochs", 0),
                                        ("max_length", 0), ("eval_batch_size", -1)])
def test_non_positive_sizes_are_rejected_with_the_value(name, value):
    with pytest.raises(TfftError, match=rf"--{name} must be a positive integer \(received {value}\)"):
        make(**{name: value})


def test_ratio_out_of_range_is_rejected():
    with pytest.raises(TfftError, match=r"--validation_split must be in \[0, 1\) \(received 1.5\)"):
        make(validation_split=1.5)


def test_predict_mode_needs_input():
    with pytest.raises(TfftError, match="--mode=predict needs input"):
        make(mode="predict")


def test_train_mode_needs_data():
    with pytest.raises(TfftError, match="--mode=train needs data"):
        Config(task="classification", model="m")


def test_task_defaults_fill_unset_fields_and_give_way_to_files():
    imdb = Config(task="imdb")
    assert (imdb.model, imdb.dataset, imdb.text_column) == ("bert-base-uncased", "imdb", "text")
    local = Config(task="imdb", train_file="t.csv")
    assert local.dataset is None and local.model == "bert-base-uncased"
    assert Config(task="imdb", model="minilm").model == "minilm"


def test_derived_defaults():
    cfg = make(batch_size=8)
    assert cfg.eval_batch_size == 16 and cfg.output_dir.endswith("classification")
    assert make(mode="export").output_dir.endswith("classification-export")
    assert cfg.export_name == "classification"


def test_config_is_frozen_hashable_and_keyword_only():
    cfg = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.epochs = 5
    assert hash(cfg) == hash(make())
    with pytest.raises(TypeError):
        Config("imdb")


def test_a_config_sent_as_json_comes_back_equal():
    cfg = make(label_names=("neg", "pos"), lora_targets=("query", "value"))
    back = Config.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg and back.label_names == ("neg", "pos")


def test_flags_cover_every_config_field_and_build_the_same_config(tmp_path):
    from absl import flags

    from tfft import flags as tfft_flags

    tfft_flags.define_flags()
    flagfile = tmp_path / "x.flags"
    flagfile.write_text("--task=classification\n--model=m\n--train_file=t.csv\n--label_names=neg,pos\n"
                        "--text=hello, world\n--text=second\n--epochs=4\n--jit_compile\n")
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["prog", f"--flagfile={flagfile}"])
    try:
        cfg = tfft_flags.config_from_flags()
    finally:
        flags.FLAGS.unparse_flags()
    assert {f.name for f in dataclasses.fields(Config)} <= set(flags.FLAGS)
    assert cfg.label_names == ("neg", "pos") and cfg.text == ("hello, world", "second")
    assert cfg.epochs == 4 and cfg.jit_compile is True
    assert cfg == make(model="m", train_file="t.csv", label_names=("neg", "pos"),
                       text=("hello, world", "second"), epochs=4, jit_compile=True)


def test_the_task_list_the_task_flag_points_to_is_there_after_import_tfft():
    from conftest import run_python

    proc = run_python(["-c", "import tfft; print(','.join(tfft.tasks.names()))"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {"classification", "imdb", "squad", "t5_qa"} <= set(proc.stdout.strip().split(","))


def test_help_shows_the_main_flags_of_each_group_within_100_columns():
    from tfft import flags as tfft_flags

    text = tfft_flags.usage()
    assert all(len(line) <= 100 for line in text.splitlines())
    fields = {f.name for f in dataclasses.fields(Config)}
    assert set(tfft_flags.MAIN_FLAGS) <= fields and set(tfft_flags.MODE_HELP) == set(MODES)
    shown = {line.split()[0].split("=")[0][2:] for line in text.splitlines() if line.startswith("  --")}
    assert shown == set(tfft_flags.MAIN_FLAGS)
    assert tfft_flags.wants_help(["main.py", "--flagfile=x", "-h"])
    assert not tfft_flags.wants_help(["main.py", "--helpfull"]) and not tfft_flags.wants_help(["m", "--", "-h"])


KERAS3 = "import os; os.environ['TF_USE_LEGACY_KERAS'] = '0'; import tensorflow as tf; tf.keras.layers\n"


def test_the_keras_api_after_keras3_tensorflow_is_an_error():
    from conftest import run_python

    proc = run_python(["-c", KERAS3 + "import tfft; print(tfft.Config(task='classification', model='m', "
                                      "train_file='t.csv').task)\ntfft.build_model"])
    assert proc.returncode != 0
    assert proc.stdout.split() == ["classification"]  # the config needs no Keras
    assert "Import tfft before tensorflow" in proc.stderr.strip().splitlines()[-1]


CLIENT = KERAS3 + """import json, sys
import numpy as np
from tfft.serving import client
from tfft.tasks.qa import client as qa_client
request = client.grpc_request("kw", ["a great film ."])
body = client.rest_body(["a great film ."])
qa = qa_client.QAClient(sys.argv[1])
inputs, windows = qa.encode(["what was it ?"], ["the film was great and the cast was lovely ."])
logits = np.zeros(inputs["input_ids"].shape, np.float32)
answers = qa.answers(logits, logits, windows)
print(json.dumps([tf.keras.__name__.split(".")[0], request.model_spec.name, len(body["instances"]), len(answers)]))
"""


def test_client_helpers_work_where_tensorflow_bound_keras3_first(tiny_model_dir, tmp_path):
    import shutil

    from conftest import run_python

    assets = tmp_path / "qa" / "1" / "assets"
    shutil.copytree(tiny_model_dir, assets / "tokenizer", ignore=shutil.ignore_patterns("*.h5", "config.json"))
    (assets / "tfft.json").write_text(json.dumps({"task": "qa", "max_length": 32, "extras": {"doc_stride": 8}}))
    proc = run_python(["-c", CLIENT, str(tmp_path / "qa" / "1")])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == ["keras", "kw", 1, 1]


@pytest.mark.parametrize("setting,pooled", [(None, True), ("true", True), ("false", False)])
def test_tensorflow_pools_cpu_memory_unless_the_user_turned_it_off(setting, pooled):
    # TensorFlow logs the BFC allocator it creates for the CPU pool under this name. Which
    # allocator serves CPU tensors otherwise differs between machines (plain malloc, or
    # oneDNN's allocator on CPUs with AVX-512 VNNI), so only the pool's own log line is asked.
    code = ("import os, sys, tfft; print(os.environ['TF_CPU_ALLOCATOR_USE_BFC'], 'tensorflow' in sys.modules)\n"
            "import tensorflow as tf; x = tf.zeros([256, 256]) + 1\n")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPU_ALLOCATOR_USE_BFC"}  # this process set it
    env.update(TF_CPP_MIN_LOG_LEVEL="0", TF_CPP_VMODULE="bfc_allocator=1")
    if setting is not None:
        env["TF_CPU_ALLOCATOR_USE_BFC"] = setting
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == [setting or "true", "False"]  # set before TensorFlow loads, the user's kept
    assert ("named: bfc_cpu_allocator_for_gpu" in proc.stderr) == pooled, proc.stderr[-2000:]


def test_readme_flag_tables_are_current():
    from tfft.flags import flags_markdown

    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert flags_markdown() in readme, "README flag tables are stale: run `make readme-flags`"


@pytest.mark.parametrize("name", sorted(os.listdir(os.path.join(ROOT, "flags"))))
def test_every_shipped_flagfile_is_a_valid_config_whose_files_exist(name):
    from absl import flags

    from tfft import flags as tfft_flags

    tfft_flags.define_flags()
    flags.FLAGS.unparse_flags()
    cwd = os.getcwd()
    os.chdir(ROOT)  # flagfiles name their data relative to the repository root
    try:
        flags.FLAGS(["prog", f"--flagfile=flags/{name}"])
        cfg = tfft_flags.config_from_flags()
        missing = [p for p in (cfg.train_file, cfg.validation_file, cfg.test_file) if p and not os.path.exists(p)]
    finally:
        flags.FLAGS.unparse_flags()
        os.chdir(cwd)
    assert cfg.output_dir and not missing, missing
