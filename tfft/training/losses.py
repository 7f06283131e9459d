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


class MaskedSparseCategoricalCrossentropy(tf.keras.losses.Loss):
    """Token-level cross-entropy from logits, averaged over the label positions that are not
    ``ignore_id`` (-100: padding of seq2seq labels).

    Keras' own reductions divide by the number of label *positions*, padding included, so
    the loss of a batch would fall as its padding grows; this returns sum / real tokens,
    which is the Hugging Face seq2seq loss. It therefore overrides ``__call__`` and ignores
    ``reduction``. ``sample_weight`` (per example or per token) scales the token losses.
    """

    def __init__(self, ignore_id: int = -100, name: str = "masked_sparse_categorical_crossentropy",
                 **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.ignore_id = int(ignore_id)

    def __call__(self, y_true: tf.Tensor, y_pred: tf.Tensor, sample_weight: Any = None) -> tf.Tensor:
        with tf.name_scope(self.name):
            labels = tf.cast(y_true, tf.int32)
            mask = tf.cast(tf.not_equal(labels, self.ignore_id), tf.float32)
            per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.where(labels == self.ignore_id, 0, labels), logits=tf.cast(y_pred, tf.float32))
            if sample_weight is not None:
                weight = tf.cast(sample_weight, tf.float32)
                mask = mask * (weight[:, None] if weight.shape.rank == 1 else weight)
            return tf.reduce_sum(per_token * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        return self(y_true, y_pred)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "ignore_id": self.ignore_id}
