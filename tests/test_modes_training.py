"""Every fine-tuning mode learns, saves, reloads and exports: classification end to end on a
pretrained tiny backbone, a few steps of multi-label, QA and T5."""

import numpy as np
import pytest

import tfft
from conftest import board_events, emotion_rows, keyword_rows, reverse_rows, serve_export, write_csv, write_emotions
from qa_data import qa_rows, write_jsonl
from tfft.errors import TfftError
from tfft.models import modes

pytestmark = pytest.mark.slow

TEXTS = ["A GREAT film, wonderful!", "the plot was boring .", "superb cast at night", "Café scene, awful ending"]


@pytest.fixture(scope="session")
def pretrained_dir(tiny_model_dir, tmp_path_factory) -> str:
    """The tiny BERT's backbone after full fine-tuning on other keyword-sentiment texts: its
    features know the sentiment words, as a real pretrained model's know words. A random
    tiny backbone's features do not, and no head can learn from them. Every mode below
    starts from a new, randomly initialised head."""
    from transformers import TFBertModel

    root = tmp_path_factory.mktemp("pretrained")
    cfg = tfft.Config(task="classification", model=tiny_model_dir, max_length=32, epochs=4, learning_rate=2e-3,
                      train_file=write_csv(str(root / "train.csv"), keyword_rows(320, 11)),
                      validation_split=0.0, output_dir=str(root / "run"), cache_dir=str(root / "cache"), seed=0)
    train_ds, _ = tfft.datasets(cfg)
    model = tfft.build_model(cfg)
    model.fit(train_ds, epochs=cfg.epochs, verbose=0)
    backbone = TFBertModel(model.hf_model.config)
    backbone(backbone.dummy_inputs)
    backbone.bert.set_weights(model.hf_model.bert.get_weights())
    path = str(root / "backbone")
    backbone.save_pretrained(path)
    model.tokenizer.save_pretrained(path)
    return path


def _probabilities(predictions, names):
    return np.array([[p["probabilities"][n] for n in names] for p in predictions])


@pytest.mark.parametrize("overrides, epochs, learning_rate, threshold", [
    ({"finetune": "frozen", "cache_features": True}, 6, 1e-2, 0.8),
    ({"finetune": "frozen", "cache_features": True, "pooling": "mean"}, 6, 1e-2, 0.8),
    ({"finetune": "adapter", "head": "mlp"}, 3, 5e-3, 0.9),
    ({"finetune": "lora"}, 3, 1e-2, 0.9),
], ids=["frozen-cached", "frozen-cached-mean", "adapter-mlp", "lora"])
def test_mode_learns_reloads_and_serves_in_a_tensorflow_only_process(tiny_config, pretrained_dir, overrides,
                                                                      epochs, learning_rate, threshold):
    cfg = tiny_config(model=pretrained_dir, epochs=epochs, learning_rate=learning_rate, **overrides)
    results = tfft.run(cfg)
    assert results["eval"]["accuracy"] >= threshold, results["eval"]
    if cfg.cache_features:  # each epoch was scored on the cached features, as the whole model scores it
        kept = results["best_epoch"] - 1
        assert results["history"]["val_f1"][kept] == pytest.approx(results["eval"]["f1"], abs=1e-6)
        board = board_events(results["tensorboard"])  # the head's epochs reach TensorBoard too
        assert [v for _, v in board["validation"]["f1"]] == pytest.approx(results["history"]["val_f1"])
        assert len(board["train"]["loss"]) == len(board["train"]["learning_rate"]) == len(results["history"]["loss"])
    names = ("negative", "positive")
    predict = cfg.replace(mode="predict", model=results["model_dir"], text=("x",), finetune="full", head="linear",
                          cache_features=False, pooling="auto")  # the trained model's pooling is kept
    reloaded = _probabilities(tfft.predict(tfft.build_model(predict), predict, TEXTS), names)
    served = serve_export(results["export"], TEXTS)
    np.testing.assert_allclose(served["probabilities"], reloaded, atol=1e-5)
    if "adapter_weights" in results:  # the small file on the base model gives the same model
        on_base = cfg.replace(mode="predict", text=("x",), label_names=names, load_adapter=results["adapter_weights"])
        base = _probabilities(tfft.predict(tfft.build_model(on_base), on_base, TEXTS), names)
        np.testing.assert_allclose(base, reloaded, atol=1e-5)


def _task_config(task, tmp_path, model_dir, t5_dir, **overrides):
    common = dict(max_length=32, batch_size=8, epochs=1, learning_rate=1e-2, validation_split=0.0, seed=0,
                  output_dir=str(tmp_path / "run"), cache_dir=str(tmp_path / "cache"), **overrides)
    if task == "multilabel":
        return tfft.Config(task=task, model=model_dir, **common,
                           train_file=write_emotions(str(tmp_path / "train.csv"), emotion_rows(32, 1)))
    if task == "qa":
        return tfft.Config(task=task, model=model_dir, doc_stride=8, **common,
                           train_file=write_jsonl(tmp_path / "train.jsonl", qa_rows(16, 1)))
    rows = reverse_rows(32, 1)
    return tfft.Config(task="text2text", model=t5_dir, max_target_length=8, num_beams=1,
                       train_file=write_csv(str(tmp_path / "train.csv"), rows, header=("source", "target")),
                       **{**common, "max_length": 16})


@pytest.mark.parametrize("task, mode", [("multilabel", "frozen"), ("multilabel", "adapter"), ("multilabel", "lora"),
                                        ("qa", "frozen"), ("qa", "adapter"), ("qa", "lora"),
                                        ("t5", "adapter"), ("t5", "lora")])
def test_two_steps_train_only_what_the_mode_trains_for_every_task(task, mode, tmp_path, tiny_model_dir, tiny_t5_dir):
    cfg = _task_config(task, tmp_path, tiny_model_dir, tiny_t5_dir, finetune=mode)
    train_ds, _ = tfft.datasets(cfg)
    model = tfft.build_model(cfg)
    weights = modes.keyed(model, model.weights)
    trainable = set(modes.keyed(model, model.trainable_weights))
    before = {k: w.numpy().copy() for k, w in weights.items()}
    history = model.fit(train_ds.take(2), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    changed = {k for k, w in weights.items() if not np.array_equal(w.numpy(), before[k])}
    assert changed and changed <= trainable
    assert 0 < len(trainable) < len(weights)


def test_frozen_t5_with_tied_embeddings_has_nothing_to_train(tmp_path, tiny_model_dir, tiny_t5_dir):
    with pytest.raises(TfftError, match="--finetune=frozen leaves nothing to train in TFT5ForConditionalGeneration"):
        tfft.build_model(_task_config("t5", tmp_path, tiny_model_dir, tiny_t5_dir, finetune="frozen"))
