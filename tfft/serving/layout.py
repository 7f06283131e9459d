"""The single-sequence layout every in-graph encoder gives: ``cls text sep``, padded, with its mask."""

from __future__ import annotations

from typing import Any

import tensorflow as tf


def single_sequence(encoder: Any, texts: tf.Tensor) -> dict[str, tf.Tensor]:
    """``encoder``'s ids of ``texts`` between its ``cls_id`` and ``sep_id`` (cut to ``max_length``),
    padded with ``pad_id`` to the batch's longest: ``input_ids`` and ``attention_mask`` int32."""
    ids = encoder.token_ids(texts, encoder.max_length - 2)
    batch = ids.nrows()
    ids = tf.concat([tf.fill([batch, 1], encoder.cls_id), ids, tf.fill([batch, 1], encoder.sep_id)], axis=1)
    return {"input_ids": ids.to_tensor(default_value=encoder.pad_id),
            "attention_mask": tf.ones_like(ids).to_tensor(default_value=0)}
