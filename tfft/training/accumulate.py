"""Gradient accumulation inside one Keras train step.

Keras ``fit`` has no gradient accumulation. tfft's batches for ``--gradient_accumulation_steps=k``
hold ``k`` micro-batches per replica; the train step below runs them one after another in a
``tf.while_loop`` (so only one micro-batch's activations are alive at a time), sums their
gradients weighted by their share of the batch, and applies the sum once. For losses that
average over examples this is exactly the update of the whole batch at once; the optimizer
step, learning-rate schedule and replica reduction are those of one step.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf


def accumulated_train_step(model: tf.keras.Model, data: Any, steps: int) -> dict[str, Any]:
    """Keras ``train_step`` over ``steps`` micro-batches of ``data``; returns the metric results."""
    x, y, sample_weight = tf.keras.utils.unpack_x_y_sample_weight(data)
    size = tf.shape(tf.nest.flatten(x)[0])[0]
    micro = (size + steps - 1) // steps
    variables = model.trainable_variables
    optimizer = model.optimizer
    scaled = isinstance(optimizer, tf.keras.mixed_precision.LossScaleOptimizer)

    def piece(tree: Any, start: tf.Tensor, end: tf.Tensor) -> Any:
        return tf.nest.map_structure(lambda t: t[start:end], tree)

    def body(i: tf.Tensor, sums: list[tf.Tensor]) -> tuple[tf.Tensor, list[tf.Tensor]]:
        start = i * micro
        end = tf.minimum(start + micro, size)
        xs, ys = piece(x, start, end), piece(y, start, end)
        ws = None if sample_weight is None else piece(sample_weight, start, end)
        with tf.GradientTape() as tape:
            predictions = model(xs, training=True)
            loss = model.compute_loss(xs, ys, predictions, ws)
            if scaled:
                loss = optimizer.get_scaled_loss(loss)
        grads = tape.gradient(loss, variables)
        if scaled:
            grads = optimizer.get_unscaled_gradients(grads)
        share = tf.cast(end - start, tf.float32) / tf.cast(size, tf.float32)
        model.compiled_metrics.update_state(ys, predictions, ws)  # no result() here: it syncs replicas
        sums = [s + share * tf.cast(tf.convert_to_tensor(g), s.dtype) if g is not None else s
                for s, g in zip(sums, grads)]
        return i + 1, sums

    zeros = [tf.zeros(v.shape, v.dtype) for v in variables]
    _, sums = tf.while_loop(lambda i, _: i * micro < size, body, (tf.constant(0), zeros),
                            parallel_iterations=1)
    optimizer.apply_gradients(zip(sums, variables))
    return model.get_metrics_result()
