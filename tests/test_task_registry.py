"""A new task is one module: registered by name, its defaults and checks reach the Config."""

import dataclasses
import pathlib
import subprocess
import sys

import pandas as pd
import pytest

import tfft
from tfft.errors import TfftError
from tfft.tasks import registry
from tfft.tasks.classification import ClassificationTask


class ShortTextTask(ClassificationTask):
    """A toy task: classification that refuses sequences longer than 64 tokens."""

    def check(self, cfg: tfft.Config) -> None:
        if cfg.max_length > 64:
            raise TfftError(f"--task=short_text takes --max_length <= 64 (received {cfg.max_length}).")


@pytest.fixture
def short_text():
    registry.register("short_text", lambda: ShortTextTask("short_text", default_max_length=32, max_length=32,
                                                          model="tiny-model"))
    yield
    del registry._TASKS["short_text"]


def test_a_registered_task_gives_its_defaults_and_mode_traits_to_the_config(short_text):
    cfg = tfft.Config(task="short_text", train_file="x.csv", finetune="frozen")
    assert "short_text" in tfft.tasks.names()
    assert (cfg.max_length, cfg.model) == (32, "tiny-model")
    assert cfg.cache_features  # a sentence-level task: frozen runs on cached features by default
    assert cfg.output_dir.endswith("short_text")


def test_the_task_check_hook_runs_when_the_config_is_validated(short_text):
    with pytest.raises(TfftError, match="max_length <= 64 \\(received 128\\)"):
        tfft.Config(task="short_text", train_file="x.csv", max_length=128)
    cfg = tfft.Config(task="short_text", train_file="x.csv")
    with pytest.raises(TfftError, match="received 100"):
        cfg.replace(max_length=100)


def test_a_task_name_cannot_be_registered_twice(short_text):
    with pytest.raises(ValueError, match="already registered"):
        registry.register("short_text", lambda: ShortTextTask("short_text"))


def test_token_level_tasks_refuse_sentence_level_options():
    assert not tfft.tasks.get_task("squad").sentence_level
    with pytest.raises(TfftError, match="--pooling=mean applies to classification"):
        tfft.Config(task="squad", train_file="x.json", pooling="mean")


def test_importing_the_config_loads_the_option_groups_but_no_task_code():
    code = ("import sys, tfft.config; import tfft.tasks.qa.options; "
            "print(sorted(m for m in sys.modules if m.endswith('.task') or m == 'tfft.tasks.classification' "
            "or m == 'pandas'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=pathlib.Path(__file__).resolve().parents[1]).stdout
    assert out.strip() == "[]"
    assert type(tfft.tasks.get_task("squad")).__module__ == "tfft.tasks.qa.task"  # loaded when asked for


def test_each_family_s_option_group_gives_its_fields_and_value_checks_to_the_config():
    config_fields = {f.name for f in dataclasses.fields(tfft.Config)}
    for group in tfft.tasks.OPTION_GROUPS:
        assert issubclass(tfft.Config, group)
        assert {f.name for f in dataclasses.fields(group)} <= config_fields
    with pytest.raises(TfftError, match="--num_beams must be >= 1 \\(received 0\\)"):
        tfft.Config(task="t5_qa", train_file="x.csv", num_beams=0)
    with pytest.raises(TfftError, match="--n_best_size must be a positive integer \\(received 0\\)"):
        tfft.Config(task="squad", train_file="x.json", n_best_size=0)


def test_prepare_split_refuses_an_empty_split_then_limits_and_renumbers_what_the_task_keeps(short_text):
    task = tfft.tasks.get_task("short_text")
    cfg = tfft.Config(task="short_text", train_file="x.csv", text_column="text", max_train_samples=2)
    with pytest.raises(TfftError, match="The train data is empty \\(0 rows\\); give a file with examples"):
        task.prepare_split(cfg, pd.DataFrame({"text": []}), "train", None)
    frame = pd.DataFrame({"text": ["", "one", "two", "three"]})
    examples, notes = task.prepare_split(cfg, frame, "train", None)
    assert list(examples["text"]) == ["one", "two"] and list(examples.index) == [0, 1]
    assert notes == ["train: dropped 1 rows with empty or null 'text'"]
    assert list(task.prepare_split(cfg, frame, "validation", None)[0].index) == [0, 1, 2]  # no eval limit set
