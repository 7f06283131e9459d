"""A new task is one module: registered by name, its defaults and checks reach the Config."""

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
