"""Fine-tuning modes: what trains, what stays bit-identical, parameter counts, adapter and
LoRA identities, merge, errors."""

import numpy as np
import pytest
import tensorflow as tf

import tfft
from tfft.errors import TfftError
from tfft.models import modes
from tfft.models.layers import release

HIDDEN, LAYERS, INTERMEDIATE, CLASSES = 32, 2, 64, 2  # conftest.tiny_bert_config
HEAD = HIDDEN * CLASSES + CLASSES


def _count(weights) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


def _batch(cfg):
    train_ds, _ = tfft.datasets(cfg)
    return next(iter(train_ds))[0]


def _bert_total(vocab: int, positions: int = 64) -> int:
    h, i = HIDDEN, INTERMEDIATE
    embeddings = (vocab + positions + 2) * h + 2 * h
    layer = 4 * (h * h + h) + 2 * (2 * h) + (h * i + i) + (i * h + h)
    return embeddings + LAYERS * layer + (h * h + h) + HEAD


ADAPTERS = LAYERS * 2 * (2 * HIDDEN * 16 + 16 + HIDDEN)  # two per layer, 2hm + m + h each (m = 16)
LAYER_NORMS = (1 + 2 * LAYERS) * 2 * HIDDEN  # the embeddings' and two per layer
MLP = HIDDEN * 512 + 512 + 512 * CLASSES + CLASSES
LORA_QV = LAYERS * 2 * (HIDDEN * 4 + 4 * HIDDEN)  # query and value of every layer: A [h, 4], B [4, h]
# every Dense named query, key, value or dense: per layer four h -> h (query, key, value, attention
# output) and the feed-forward h -> i and i -> h; and the pooler, h -> h
LORA_ALL = LAYERS * (4 * 4 * 2 * HIDDEN + 2 * 4 * (HIDDEN + INTERMEDIATE)) + 4 * 2 * HIDDEN


@pytest.mark.parametrize("overrides, trainable, added", [
    ({"finetune": "frozen"}, HEAD, 0),
    ({"finetune": "frozen", "head": "mlp"}, MLP, MLP),
    ({"finetune": "adapter", "adapter_size": 16}, ADAPTERS + LAYER_NORMS + HEAD, ADAPTERS),
    ({"finetune": "lora", "lora_rank": 4}, LORA_QV + HEAD, LORA_QV),
    ({"finetune": "lora", "lora_rank": 4, "lora_targets": ("query", "key", "value", "dense")},
     LORA_ALL + HEAD, LORA_ALL),
], ids=["frozen", "frozen-mlp", "adapter", "lora", "lora-all-dense"])
def test_trainable_parameter_count_matches_its_formula(tiny_config, overrides, trainable, added):
    model = tfft.build_model(tiny_config(**overrides))
    assert _count(model.trainable_weights) == trainable
    assert _count(model.weights) == _bert_total(model.hf_model.config.vocab_size) + added
    assert _count(model.trainable_weights) + _count(model.non_trainable_weights) == _count(model.weights)


def test_full_mode_trains_every_weight(tiny_config):
    model = tfft.build_model(tiny_config())
    assert _count(model.trainable_weights) == _count(model.weights) == _bert_total(model.hf_model.config.vocab_size)


@pytest.mark.slow
@pytest.mark.parametrize("mode, strategy", [("frozen", "default"), ("adapter", "default"), ("lora", "default"),
                                            ("lora", "mirrored")])
def test_frozen_weights_stay_bit_identical_and_the_rest_changes(tiny_config, mode, strategy):
    cfg = tiny_config(finetune=mode, strategy=strategy, batch_size=8, learning_rate=1e-2)
    train_ds, _ = tfft.datasets(cfg)
    model = tfft.build_model(cfg)
    keys = modes.keyed(model, model.weights)
    trainable = set(modes.keyed(model, model.trainable_weights))
    before = {k: w.numpy().copy() for k, w in keys.items()}
    model.fit(train_ds.take(3), epochs=1, verbose=0)
    for key, weight in keys.items():
        changed = not np.array_equal(weight.numpy(), before[key])
        assert changed == (key in trainable), (key, changed)
    assert any(k.endswith(("lora_B", "adapter/up/kernel")) for k in trainable) == (mode != "frozen")


def test_adapters_at_initialisation_give_the_base_models_outputs(tiny_config):
    cfg = tiny_config(finetune="adapter")
    model = tfft.build_model(cfg)
    batch = _batch(cfg)
    hidden = lambda: model.hf_model.bert(**batch, training=False)[0].numpy()  # noqa: E731
    with_adapters = hidden()
    kernels = [a.up.kernel.numpy() for a in model.adapters]
    for adapter in model.adapters:  # the adapters are live: a non-zero up-projection changes the outputs
        adapter.up.kernel.assign(tf.random.normal(adapter.up.kernel.shape, seed=0))
    assert np.abs(hidden() - with_adapters).max() > 1e-2
    for adapter, kernel in zip(model.adapters, kernels):
        adapter.up.kernel.assign(kernel)
    for target in modes.adapters.dense_layers(model.hf_model).values():
        release(target)  # the base model alone
    np.testing.assert_array_equal(hidden(), with_adapters)


def test_lora_merge_gives_the_unmerged_outputs_and_saves_a_plain_model(tiny_config, tmp_path):
    from tfft.runner import save_trained

    cfg = tiny_config(finetune="lora", lora_rank=4, lora_alpha=8.0)
    model = tfft.build_model(cfg)
    batch = _batch(cfg)
    # the encoder's output: the tiny random classifier's logits are too small to show a change
    hidden = lambda m: m.hf_model.bert(**batch, training=False)[0].numpy()  # noqa: E731
    base = hidden(model)
    rng = np.random.default_rng(0)
    for update in model.lora:  # a trained-looking update
        update.b.assign(rng.normal(0, 0.5, update.b.shape).astype(np.float32))
    unmerged = hidden(model)
    assert np.abs(unmerged - base).max() > 1e-2
    path = save_trained(model, str(tmp_path / "model"))  # merges
    assert not getattr(model, "lora", None) and not any("lora" in w.name for w in model.weights)
    np.testing.assert_allclose(hidden(model), unmerged, atol=1e-5)
    plain = tfft.build_model(cfg.replace(model=path, finetune="full", mode="evaluate"))
    assert _count(plain.weights) == _bert_total(plain.hf_model.config.vocab_size)
    np.testing.assert_allclose(hidden(plain), unmerged, atol=1e-5)


@pytest.mark.parametrize("overrides, message", [
    ({"finetune": "lora", "cache_features": True}, "--cache_features needs --finetune=frozen"),
    ({"finetune": "lora", "lora_rank": 0}, "--lora_rank must be a positive integer (received 0)"),
    ({"finetune": "adapter", "adapter_size": -4}, "--adapter_size must be a positive integer"),
    ({"finetune": "lora", "lora_dropout": 1.0}, "--lora_dropout in [0, 1)"),
    ({"finetune": "partial"}, "--finetune must be one of full, frozen, adapter, lora"),
    ({"head": "deep"}, "--head must be one of linear, mlp"),
    ({"load_adapter": "/nope/adapter_weights.npz"}, "--load_adapter file '/nope/adapter_weights.npz' does not exist"),
])
def test_bad_mode_flags_are_one_line_errors(tiny_config, overrides, message):
    with pytest.raises(TfftError, match=None) as err:
        tiny_config(**overrides)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_lora_targets_matching_nothing_list_the_layer_names(tiny_config):
    with pytest.raises(TfftError) as err:
        tfft.build_model(tiny_config(finetune="lora", lora_targets=("q_proj",)))
    text = str(err.value)
    assert "--lora_targets=q_proj matches no Dense layer" in text and "query" in text and "classifier" in text


def test_qa_refuses_the_mlp_head_and_cached_features(tiny_config):
    for overrides in ({"head": "mlp"}, {"finetune": "frozen", "cache_features": True}):
        with pytest.raises(TfftError, match="classification (and|or) multi-label"):
            tiny_config(task="squad", dataset=None, **overrides)


def test_adapter_file_of_another_mode_is_refused(tiny_config, tmp_path):
    lora_cfg = tiny_config(finetune="lora")
    model = tfft.build_model(lora_cfg)
    path = modes.save_adapter(model, lora_cfg, str(tmp_path / "adapter_weights.npz"))
    with pytest.raises(TfftError, match="holds --finetune=lora weights but this run has --finetune=adapter; "
                                        "pass --finetune=lora --lora_rank=8"):
        tfft.build_model(tiny_config(finetune="adapter", load_adapter=path))
    with pytest.raises(TfftError, match="has shape"):
        tfft.build_model(tiny_config(finetune="lora", lora_rank=4, load_adapter=path))


def test_adapter_file_needs_the_adapter_size_and_head_it_was_trained_with(tiny_config, tmp_path):
    cfg = tiny_config(finetune="adapter", adapter_size=16)
    path = modes.save_adapter(tfft.build_model(cfg), cfg, str(tmp_path / "adapter_weights.npz"))
    with pytest.raises(TfftError, match="was trained with --head=linear --adapter_size=16 but this run builds "
                                        "--head=mlp --adapter_size=8; pass --head=linear --adapter_size=16"):
        tfft.build_model(tiny_config(finetune="adapter", adapter_size=8, head="mlp", load_adapter=path))
