"""The fine-tuning modes on every encoder family: trainable-parameter counts from each config,
the cached-feature split, fused activations, a non-BERT model that learns, replicas and
mixed precision, and the README's architecture table."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

import tfft
from conftest import ROOT
from tfft.errors import TfftError
from tfft.models import families
from tfft.models.fused import TrainingGelu
from tfft.training.cached import head_split
from tiny_archs import ARCHITECTURES

RANK, ADAPTER = 4, 8
CLASSES = 2  # keyword sentiment: positive, negative


def _count(weights) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


def _sizes(config) -> tuple[int, int]:
    """Hidden size, and how many distinct sets of layer weights (ALBERT shares one set per group)."""
    if config.model_type == "distilbert":
        return config.dim, config.n_layers
    if config.model_type == "albert":
        return config.hidden_size, config.num_hidden_groups * config.inner_group_num
    return config.hidden_size, config.num_hidden_layers


def head_parameters(config) -> int:
    """The classifier head's weights, by the family's layout."""
    h, _ = _sizes(config)
    out = h * CLASSES + CLASSES
    layout = families.FAMILIES[config.model_type].head
    if layout == families.CONTEXT_POOLER:
        return config.pooler_hidden_size * (h + 1) + config.pooler_hidden_size * CLASSES + CLASSES
    return out + (h * h + h if layout in (families.PRE_CLASSIFIER, families.FIRST_TOKEN_HEAD) else 0)


def _model(tiny_config, arch_dirs, arch, **overrides):
    return tfft.build_model(tiny_config(model=arch_dirs[arch], **overrides))


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_lora_adapter_and_frozen_train_what_their_formulas_say(tiny_config, arch_dirs, arch):
    lora = _model(tiny_config, arch_dirs, arch, finetune="lora", lora_rank=RANK)
    config = lora.hf_model.config
    h, layers = _sizes(config)
    head = head_parameters(config)
    assert len(lora.lora) == 2 * layers  # query and value of every set of layer weights
    assert {u.key.rsplit("/", 1)[-1] for u in lora.lora} == set(families.FAMILIES[arch].lora_targets)
    assert _count(lora.trainable_weights) == 2 * layers * 2 * h * RANK + head

    adapter = _model(tiny_config, arch_dirs, arch, finetune="adapter", adapter_size=ADAPTER)
    assert len(adapter.adapters) == 2 * layers  # after attention and after the feed-forward block
    added = [w for a in adapter.adapters for w in a.weights]
    assert _count(added) == 2 * layers * (2 * h * ADAPTER + ADAPTER + h)
    norms = [w for w in adapter.hf_model.weights if "norm" in w.name.lower()]
    assert _count(adapter.trainable_weights) == _count(added) + _count(norms) + head

    frozen = _model(tiny_config, arch_dirs, arch, finetune="frozen")
    assert _count(frozen.trainable_weights) == head


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_the_cached_split_gives_the_full_models_logits(tiny_config, arch_dirs, arch):
    cfg = tiny_config(model=arch_dirs[arch], finetune="frozen", cache_features=True)
    model = tfft.build_model(cfg)
    x = next(iter(tfft.datasets(cfg)[0]))[0]
    extract, layers = head_split(model.hf_model, model.info.extras.get("pooling"))
    vector = extract(x)
    for layer in layers:
        vector = layer(vector)
    np.testing.assert_allclose(vector, model(x, training=False)["logits"], atol=1e-5)


@pytest.mark.parametrize("arch", ["roberta", "deberta-v2", "albert"])
def test_mean_pooling_feeds_the_familys_own_head(tiny_config, arch_dirs, arch):
    mean = _model(tiny_config, arch_dirs, arch, pooling="mean")
    native = _model(tiny_config, arch_dirs, arch)
    assert mean.info.extras["pooling"] == "mean" and native.info.extras["pooling"] != "mean"
    x = {"input_ids": tf.constant([[2, 8, 9, 10, 3]]), "attention_mask": tf.constant([[1, 1, 1, 1, 1]])}
    assert not np.allclose(mean(x)["logits"], native(x)["logits"])


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_exact_gelu_feed_forward_is_fused(tiny_config, arch_dirs, arch):
    model = _model(tiny_config, arch_dirs, arch)
    config = model.hf_model.config
    act = getattr(config, "hidden_act", getattr(config, "activation", None))
    swapped = sum(isinstance(getattr(layer, families.FAMILIES[arch].activation, None), TrainingGelu)
                  for layer in model.hf_model.submodules)
    assert swapped == (_sizes(config)[1] if act == "gelu" else 0)


def test_the_mlp_head_on_a_family_without_a_dense_classifier_is_one_line(tiny_config, arch_dirs):
    with pytest.raises(TfftError, match="--head=mlp") as err:
        _model(tiny_config, arch_dirs, "roberta", head="mlp")
    assert "\n" not in str(err.value)


def test_readme_architecture_table_is_current():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert families.markdown_table() in readme, "README architecture table is stale: run `make readme-architectures`"


class TestFamiliesLearnAndScale:
    """Run in a pytest-xdist worker of their own (one scope per class)."""

    @pytest.mark.slow
    def test_tiny_roberta_from_scratch_learns_keyword_sentiment(self, tiny_config, arch_dirs):
        cfg = tiny_config(model=arch_dirs["roberta"], epochs=6, learning_rate=2e-3)
        train_ds, val_ds = tfft.datasets(cfg)
        tf.keras.utils.set_random_seed(0)
        model = tfft.build_model(cfg)
        before = tfft.evaluate(model, cfg, "test")["accuracy"]
        model.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs, verbose=0)
        after = tfft.evaluate(model, cfg, "test")
        assert after["accuracy"] >= 0.9, (before, after)


    @pytest.mark.slow
    @pytest.mark.parametrize("arch, strategy, precision", [("roberta", "mirrored", "none"), ("electra", "mirrored", "none"),
                                                           ("roberta", "default", "bf16"), ("deberta-v2", "default", "fp16")])
    def test_a_step_under_two_replicas_and_mixed_precision(self, tiny_config, arch_dirs, arch, strategy, precision):
        cfg = tiny_config(model=arch_dirs[arch], strategy=strategy, mixed_precision=precision, batch_size=4,
                          warmup_ratio=0.0, learning_rate=1e-2)
        train_ds, _ = tfft.datasets(cfg)
        model = tfft.build_model(cfg)
        before = [w.numpy() for w in model.trainable_weights]
        history = model.fit(train_ds.take(1), epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
        x = next(iter(train_ds))[0]
        assert model(x, training=False)["logits"].dtype == tf.float32
        if strategy == "mirrored":
            assert model.distribute_strategy.num_replicas_in_sync == 2
