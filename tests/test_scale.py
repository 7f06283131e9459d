"""Scaling: gradient accumulation, clipping, mixed precision, XLA shapes, strategies and devices."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import tfft
from conftest import steps_from
from tfft import api
from tfft.errors import TfftError
from tfft.training.strategy import set_precision


@pytest.mark.slow
@pytest.mark.parametrize("strategy,per_replica,k,finetune", [
    ("default", 4, 2, "full"), ("default", 2, 4, "full"), ("mirrored", 2, 2, "full"), ("default", 4, 2, "lora"),
    ("default", 4, 2, "frozen")])
def test_accumulated_micro_batches_give_the_update_of_one_larger_batch(tiny_config, strategy, per_replica, k,
                                                                       finetune):
    whole = tiny_config(batch_size=8, length_buckets=0, finetune=finetune)
    split = tiny_config(strategy=strategy, batch_size=per_replica, gradient_accumulation_steps=k, length_buckets=0,
                        finetune=finetune)
    assert api.train_batch(split) == api.train_batch(whole) == 8
    assert api.train_steps(split) == api.train_steps(whole)  # the schedule counts updates
    losses_1, start, weights_1 = steps_from(whole)
    losses_2, _, weights_2 = steps_from(split, start)
    np.testing.assert_allclose(losses_1, losses_2, rtol=1e-4, atol=1e-5)
    assert any(not np.allclose(a, b) for a, b in zip(start, weights_1))  # training moved some weights
    for a, b in zip(weights_1, weights_2):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=2e-5)


@pytest.mark.slow
def test_clipping_by_global_norm_shrinks_the_first_update(tiny_config):
    _, start, free = steps_from(tiny_config(length_buckets=0, warmup_ratio=0.0), n=1)
    _, _, clipped = steps_from(tiny_config(length_buckets=0, warmup_ratio=0.0, max_grad_norm=1e-10), start, n=1)
    moved_free = max(float(np.abs(a - b).max()) for a, b in zip(free, start))
    moved_clipped = max(float(np.abs(a - b).max()) for a, b in zip(clipped, start))
    # Adam divides by sqrt(v) + 1e-8: gradients clipped far below 1e-8 barely move anything
    assert moved_clipped < 0.1 * moved_free, (moved_clipped, moved_free)


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_finite_with_float32_logits_and_export(tiny_config, tmp_path, precision):
    cfg = tiny_config(mixed_precision=precision, length_buckets=0, export_dir=str(tmp_path / precision))
    try:
        losses, _, weights = steps_from(cfg)
        model = tfft.build_model(cfg.replace(mode="train"))
        assert all(t.dtype == tf.float32 for t in model.outputs)
        scaled = isinstance(model.optimizer, tf.keras.mixed_precision.LossScaleOptimizer)
        assert scaled == (precision == "fp16")
        path = tfft.export(model, cfg)
    finally:
        set_precision("none")
    assert np.isfinite(losses).all() and all(np.isfinite(w).all() for w in weights)
    sig = tf.saved_model.load(path).signatures["serve_ids"]
    assert {k: v.dtype for k, v in sig.structured_input_signature[1].items()} == {
        "input_ids": tf.int32, "attention_mask": tf.int32}
    assert all(spec.dtype in (tf.float32, tf.int32, tf.string) for spec in sig.structured_outputs.values())
    assert sig.structured_outputs["probabilities"].dtype == tf.float32


@pytest.mark.slow
def test_xla_training_compiles_a_bounded_number_of_shapes(tiny_config):
    cfg = tiny_config(jit_compile=True, epochs=2, length_buckets=4, max_length=32)
    results = tfft.run(cfg)
    # widths are rounded up to 32 (= max_length): one width; batch sizes: full, plus a
    # smaller last batch per bucket at most
    assert 1 <= results["xla_batch_shapes"] <= 1 + 4, results["xla_batch_shapes"]
    assert results["test"]["accuracy"] >= 0.0 and os.path.isdir(results["export"])


@pytest.mark.slow
def test_mirrored_evaluation_returns_every_example_once(tiny_config):
    single = tiny_config(eval_batch_size=5)  # 2 replicas x 5: the last batch is ragged across replicas
    model = tfft.build_model(single)
    expected = api.split_outputs(model, single, "test")
    mirrored = single.replace(strategy="mirrored")
    mirrored_model = tfft.build_model(mirrored)
    mirrored_model.set_weights(model.get_weights())
    got = api.split_outputs(mirrored_model, mirrored, "test")
    n = len(api.prepare(single).examples["test"])
    assert got["logits"].shape[0] == n == expected["logits"].shape[0]
    np.testing.assert_allclose(got["logits"], expected["logits"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("overrides,message", [
    (dict(devices=("CPU:0",)), r"--devices applies to --strategy=mirrored or one_device"),
    (dict(strategy="one_device", devices=("CPU:0", "CPU:1")), r"one_device takes one --devices"),
    (dict(max_grad_norm=0.0), r"--max_grad_norm must be > 0 \(received 0.0\)"),
    (dict(gradient_accumulation_steps=0), r"--gradient_accumulation_steps must be a positive integer"),
])
def test_bad_scaling_flags_are_one_line_errors(tiny_config, overrides, message):
    with pytest.raises(TfftError, match=message):
        tiny_config(**overrides)


def test_unknown_device_and_missing_tpu_are_one_line_errors():
    from tfft.training.strategy import get_strategy

    with pytest.raises(TfftError, match=r"--devices=GPU:7 is not a device of this machine \(have: .*CPU:0"):
        get_strategy("mirrored", ("GPU:7",))
    with pytest.raises(TfftError, match=r"--strategy=tpu found no TPU at --tpu=nowhere"):
        get_strategy("tpu", (), "nowhere")


def test_chief_is_the_chief_task_or_worker_zero(monkeypatch):
    from tfft.training.strategy import is_chief

    cases = [({}, True),
             ({"cluster": {"worker": ["a", "b"]}, "task": {"type": "worker", "index": 0}}, True),
             ({"cluster": {"worker": ["a", "b"]}, "task": {"type": "worker", "index": 1}}, False),
             ({"cluster": {"chief": ["c"], "worker": ["a"]}, "task": {"type": "worker", "index": 0}}, False),
             ({"cluster": {"chief": ["c"], "worker": ["a"]}, "task": {"type": "chief", "index": 0}}, True)]
    for config, chief in cases:
        monkeypatch.setenv("TF_CONFIG", json.dumps(config))
        assert is_chief() is chief, config
