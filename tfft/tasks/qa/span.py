"""The extractive QA head's output: start and end logits as one masked tensor."""

from __future__ import annotations

from typing import Any, Mapping

import tensorflow as tf

OUTPUT = "span_logits"
MASKED_LOGIT = -1e9  # a padding position's logit: no probability mass, never an argmax


class SpanLogits(tf.keras.layers.Layer):
    """``[batch, 2, seq]`` float32: row 0 start logits, row 1 end logits, padding at -1e9.

    Stacking makes one sparse categorical cross-entropy over the last axis exactly the mean
    of the start and end losses; masking keeps the per-batch padding out of the softmax.
    """

    def call(self, start: tf.Tensor, end: tf.Tensor, attention_mask: tf.Tensor) -> tf.Tensor:
        stacked = tf.cast(tf.stack([start, end], axis=1), tf.float32)
        return tf.where(tf.cast(attention_mask, tf.bool)[:, None, :], stacked, MASKED_LOGIT)


def span_head(hf_outputs: Any, inputs: Mapping[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """A :func:`tfft.models.wrap.wrap` head for ``TFAutoModelForQuestionAnswering`` outputs."""
    layer = SpanLogits(name="masked_span_logits", dtype="float32")
    return {OUTPUT: layer(hf_outputs["start_logits"], hf_outputs["end_logits"], inputs["attention_mask"])}
