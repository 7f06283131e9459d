"""The fused GELU and LayerNorm: same values and gradients as the model's own, only inside Keras steps."""

import contextlib

import numpy as np
import pytest
import tensorflow as tf

import tfft
from tfft.models import fused


@pytest.fixture(autouse=True)
def fuse_tiny_layers(monkeypatch):
    """The suite's tiny BERT (hidden 32) is below the size tfft fuses from; fuse it here."""
    monkeypatch.setattr(fused, "MIN_FEATURES", 1)


def test_fused_gelu_matches_the_exact_gelu_and_its_gradient():
    x = tf.constant(np.random.default_rng(0).normal(0, 3, size=(4, 7, 33)), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ours, reference = fused.fused_gelu(x), tf.nn.gelu(x, approximate=False)
        weights = tf.cos(x)  # a non-uniform upstream gradient
        loss_ours, loss_ref = tf.reduce_sum(ours * weights), tf.reduce_sum(reference * weights)
    np.testing.assert_allclose(ours.numpy(), reference.numpy(), atol=1e-5)
    np.testing.assert_allclose(tape.gradient(loss_ours, x).numpy(), tape.gradient(loss_ref, x).numpy(), atol=1e-5)


def _graph_text(fn, *args) -> str:
    return str(tf.function(fn).get_concrete_function(*args).graph.as_graph_def())


def test_fused_layer_norm_matches_keras_and_its_gradients():
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(2, 3, size=(5, 6, 16)), tf.float32)
    layer = tf.keras.layers.LayerNormalization(epsilon=1e-12)
    layer.build(x.shape)
    layer.gamma.assign(rng.normal(1, 0.5, size=16)), layer.beta.assign(rng.normal(0, 0.5, size=16))
    weights = tf.constant(rng.normal(size=(5, 6, 16)), tf.float32)  # a non-uniform upstream gradient
    results = []
    for fuse in (False, True):
        if fuse:
            fused.fuse_layer_norms(tf.keras.Sequential([layer]))
        with fused.step_trace(), tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x) * weights)
        results.append([t.numpy() for t in [layer(x), *tape.gradient(loss, [x, layer.gamma, layer.beta])]])
    assert isinstance(layer.call, fused.TrainingLayerNorm)
    for ours, reference in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, reference, atol=2e-5, rtol=1e-5)


def test_built_models_fuse_only_while_a_keras_step_is_traced(tiny_config, monkeypatch):
    model = tfft.build_model(tiny_config())
    swapped = [layer.intermediate.intermediate_act_fn for layer in model.hf_model.bert.encoder.layer]
    assert swapped and all(isinstance(fn, fused.TrainingGelu) for fn in swapped)
    norms = [layer.bert_output.LayerNorm.call for layer in model.hf_model.bert.encoder.layer]
    assert all(isinstance(fn, fused.TrainingLayerNorm) for fn in norms)
    ids = tf.constant([[2, 5, 6, 7, 3]], tf.int32)
    inputs = {"input_ids": ids, "attention_mask": tf.ones_like(ids)}

    def forward(inputs):
        return model(inputs, training=True)["logits"]

    def traced_in_a_step(inputs):
        with fused.step_trace():
            return forward(inputs)

    assert "XlaMustCompile" not in _graph_text(forward, inputs)  # the export path
    assert "XlaMustCompile" in _graph_text(traced_in_a_step, inputs)
    monkeypatch.setattr(fused, "MIN_FEATURES", 65)  # wider than the tiny model (32, 64): its steps keep their own ops
    assert "XlaMustCompile" not in _graph_text(traced_in_a_step, inputs)
    monkeypatch.setattr(fused, "MIN_FEATURES", 1)
    plain = model(inputs, training=False)["logits"]
    with fused.step_trace():
        fused_out = model(inputs, training=False)["logits"]
    np.testing.assert_allclose(fused_out.numpy(), plain.numpy(), atol=1e-5)


def test_train_step_gradients_equal_the_unfused_model_s(tiny_config):
    model = tfft.build_model(tiny_config())
    x, y = next(iter(tfft.datasets(tiny_config())[0]))
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def gradients(fuse: bool):
        with fused.step_trace() if fuse else contextlib.nullcontext():
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True)["logits"])
        return tape.gradient(loss, model.trainable_weights)

    for ours, reference in zip(gradients(True), gradients(False)):
        ours, reference = tf.convert_to_tensor(ours).numpy(), tf.convert_to_tensor(reference).numpy()
        np.testing.assert_allclose(ours, reference, atol=1e-6 + 1e-4 * np.abs(reference).max())


def test_the_fused_kernels_are_used_only_where_a_run_repays_their_compiles(tiny_config):
    from tfft import api
    from tfft.training.batches import batch_plan, train_steps

    assert fused.earns_its_compiles(10 * 15, 15) and not fused.earns_its_compiles(10 * 15 - 1, 15)
    short = tiny_config(epochs=1)
    plan = batch_plan(short)
    train = api.prepare(short).features["train"]
    widths = plan.widths(train)
    assert 1 <= widths <= min(plan.steps(train, 1), len(np.unique(train.lengths())))
    assert not fused.earns_its_compiles(train_steps(short), widths)
    assert tfft.build_model(short).fused_ops is False  # one epoch: a width's compile would not be repaid
    epochs = -(-fused.STEPS_PER_WIDTH * widths // plan.steps(train, 1))
    assert tfft.build_model(tiny_config(epochs=epochs)).fused_ops is True
    assert tfft.build_model(tiny_config(epochs=epochs, fused_ops=False)).fused_ops is False
