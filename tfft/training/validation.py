"""One validation pass per epoch: Keras' validation logs (``loss`` and the compiled metrics)
computed from the outputs of the task's own metric pass.

Keras' ``validation_data`` would run the model over the validation set a second time just
for ``val_loss``; the task's pass already has every output the loss reads (its raw logits,
in feature order). Cutting them back into the evaluation batches Keras would have seen and
feeding each to the model's compiled loss and metrics gives Keras' numbers (each batch's
mean loss weighted by its size) for the price of a few small eager ops, not a forward pass.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import tensorflow as tf


def reuses_task_pass(task: Any, cfg: Any, replicas: int) -> bool:
    """Whether the task's validation pass can give Keras' logs too: its outputs are the model's
    raw outputs (the default ``model_outputs``; seq2seq generates instead, and its teacher-forced
    loss needs its own pass), it runs every epoch (``--generate_every=1``) and on one device
    (a mirrored model's metrics sum over replicas, updated only inside a replica's step)."""
    from tfft.tasks.base import Task

    return type(task).model_outputs is Task.model_outputs and cfg.generate_every <= 1 and replicas == 1


def keras_logs(model: tf.keras.Model, batches: tf.data.Dataset, outputs: Mapping[str, np.ndarray],
               order: np.ndarray) -> dict[str, float]:
    """What ``model.evaluate(batches)`` would log (``loss`` and the compiled metrics), from
    ``outputs`` (by output name, in feature order) instead of running the model again.

    Args:
        model: The compiled model whose outputs these are.
        batches: The evaluation batches ``(inputs, labels)`` of the features, shortest first.
        outputs: The model's raw outputs for every feature, in the features' order; per-token
            outputs padded to the widest batch with a logit that gets no probability mass.
        order: ``features.shortest_first()``: the feature index of each example of ``batches``.
    """
    ranked = {name: np.asarray(value)[order] for name, value in outputs.items()}
    model.reset_metrics()
    logs: dict[str, Any] = {}
    start = 0
    for labels in batches.map(lambda inputs, labels: labels):
        size = int(tf.nest.flatten(labels)[0].shape[0])
        predicted = {name: tf.constant(value[start:start + size]) for name, value in ranked.items()}
        model.compute_loss(y=labels, y_pred=predicted)
        logs = model.compute_metrics(None, labels, predicted, None)
        start += size
    model.reset_metrics()  # as Keras' own pass leaves them for the next epoch's training
    return {name: float(value) for name, value in logs.items()}
