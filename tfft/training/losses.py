"""Keras losses tfft adds to the standard ones."""

from __future__ import annotations

from typing import Any, Sequence

import tensorflow as tf


class WeightedBinaryCrossentropy(tf.keras.losses.Loss):
    """Binary cross-entropy from logits with a positive-class weight per label.

    ``pos_weight[j] = 9`` makes a missed positive of label j cost as much as nine false
    alarms, which is the negatives/positives ratio of a label present in 10% of examples.
    """

    def __init__(self, pos_weight: Sequence[float], name: str = "weighted_binary_crossentropy", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.pos_weight = [float(w) for w in pos_weight]

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        logits = tf.cast(y_pred, tf.float32)
        labels = tf.cast(y_true, tf.float32)
        weight = tf.constant(self.pos_weight, tf.float32)
        per_label = tf.nn.weighted_cross_entropy_with_logits(labels=labels, logits=logits, pos_weight=weight)
        return tf.reduce_mean(per_label, axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pos_weight": self.pos_weight}
