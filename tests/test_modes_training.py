"""Every fine-tuning mode learns, saves, reloads and exports: classification end to end on a
pretrained tiny backbone, a few steps of multi-label, QA and T5."""

import numpy as np
import pytest

import tfft
from conftest import keyword_rows, serve_export, write_csv

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
    ({"finetune": "frozen"}, 4, 1e-2, 0.75),
    ({"finetune": "frozen", "head": "mlp", "cache_features": True}, 6, 3e-3, 0.75),
    ({"finetune": "adapter"}, 3, 5e-3, 0.9),
    ({"finetune": "lora"}, 3, 1e-2, 0.9),
], ids=["frozen", "frozen-mlp-cached", "adapter", "lora"])
def test_mode_learns_reloads_and_serves_in_a_tensorflow_only_process(tiny_config, pretrained_dir, overrides,
                                                                      epochs, learning_rate, threshold):
    cfg = tiny_config(model=pretrained_dir, epochs=epochs, learning_rate=learning_rate, **overrides)
    results = tfft.run(cfg)
    assert results["eval"]["accuracy"] >= threshold, results["eval"]
    names = ("negative", "positive")
    predict = cfg.replace(mode="predict", model=results["model_dir"], text=("x",), finetune="full", head="linear",
                          cache_features=False)
    reloaded = _probabilities(tfft.predict(tfft.build_model(predict), predict, TEXTS), names)
    served = serve_export(results["export"], TEXTS)
    np.testing.assert_allclose(served["probabilities"], reloaded, atol=1e-5)
    if "adapter_weights" in results:  # the small file on the base model gives the same model
        on_base = cfg.replace(mode="predict", text=("x",), label_names=names, load_adapter=results["adapter_weights"])
        base = _probabilities(tfft.predict(tfft.build_model(on_base), on_base, TEXTS), names)
        np.testing.assert_allclose(base, reloaded, atol=1e-5)
