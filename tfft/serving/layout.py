"""The single-sequence layout every in-graph encoder gives: ``cls text sep``, padded, with its mask."""

from __future__ import annotations

from typing import Any, Optional

import tensorflow as tf


def single_sequence(encoder: Any, texts: tf.Tensor) -> dict[str, tf.Tensor]:
    """``encoder``'s ids of ``texts`` between its ``cls_id`` and ``sep_id`` (cut to ``max_length``),
    padded with ``pad_id`` to the batch's longest: ``input_ids`` and ``attention_mask`` int32."""
    ids = encoder.token_ids(texts, encoder.max_length - 2)
    batch = ids.nrows()
    ids = tf.concat([tf.fill([batch, 1], encoder.cls_id), ids, tf.fill([batch, 1], encoder.sep_id)], axis=1)
    return {"input_ids": ids.to_tensor(default_value=encoder.pad_id),
            "attention_mask": tf.ones_like(ids).to_tensor(default_value=0)}


def pair_middle_of(tokenizer: Any, cls_id: int, sep_id: int) -> Optional[tuple[int, ...]]:
    """The ids ``tokenizer`` puts between the two segments of a pair (BERT: ``(sep,)``, MPNet and
    RoBERTa: ``(sep, sep)``), or None when its pairs are not ``cls a <middle> b sep``."""
    a, b = [7], [8]
    try:
        full = list(tokenizer.build_inputs_with_special_tokens(a, b))
    except (AttributeError, TypeError, ValueError):
        return None
    if full[:2] != [cls_id, *a] or full[-2:] != [*b, sep_id]:
        return None
    return tuple(int(i) for i in full[2:-2])


def pair_layout_matches(tokenizer: Any, encoder: Any) -> bool:
    """True when ``encoder``'s pair layout (``cls a pair_middle b sep``, right padding) is the one
    ``tokenizer`` builds, so in-graph QA windows are the Python windows."""
    if getattr(tokenizer, "padding_side", "right") != "right" or not hasattr(encoder, "pair_middle"):
        return False
    return pair_middle_of(tokenizer, encoder.cls_id, encoder.sep_id) == tuple(encoder.pair_middle)
