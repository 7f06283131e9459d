"""tf.data pipelines that pad each batch only to its longest member.

Shuffled training batches can also be drawn from length buckets: with 8 buckets at the
length octiles of an IMDB-like set (median ~230 tokens), a batch mixes reviews whose
lengths differ by one octile at most instead of 60 vs 512 tokens, so most of a batch is
text rather than padding.
"""

from __future__ import annotations

from typing import Mapping, Optional

import numpy as np
import tensorflow as tf

from tfft.data.features import Features


def bucket_boundaries(lengths: np.ndarray, buckets: int) -> list[int]:
    """Upper length limits (exclusive) splitting ``lengths`` into ``buckets`` groups of equal count.

    Example: lengths 1..100 and 4 buckets give [26, 51, 76].
    """
    if buckets <= 1 or len(lengths) == 0:
        return []
    qs = np.quantile(lengths, np.linspace(0, 1, buckets + 1)[1:-1], method="lower")
    return sorted({int(q) + 1 for q in qs})


def batch_count(lengths: np.ndarray, batch_size: int, boundaries: list[int]) -> int:
    """Number of batches ``group_by_window`` yields: each bucket ends with one partial batch."""
    bucket_ids = np.searchsorted(np.asarray(boundaries), lengths, side="right") if boundaries else np.zeros(len(lengths))
    counts = np.bincount(bucket_ids.astype(np.int64)) if len(lengths) else np.zeros(0, np.int64)
    return int(sum(-(-c // batch_size) for c in counts if c))


def make_dataset(features: Features, *, batch_size: int, pad_values: Mapping[str, int],
                 shuffle: bool = False, seed: Optional[int] = None, buckets: int = 0,
                 with_labels: bool = True) -> tf.data.Dataset:
    """Batches ``features`` into ``(inputs, labels)`` with per-batch padding and an attention mask.

    Args:
        features: Unpadded token ids (and labels).
        batch_size: Global batch size (per-replica batch x replicas).
        pad_values: Pad id per input name (e.g. the tokenizer's pad id for ``input_ids``).
        shuffle: Reshuffle every epoch (seeded).
        seed: Shuffle seed.
        buckets: Length buckets for shuffled batches (0 or 1: none).
        with_labels: Yield ``(inputs, labels)``; else inputs only.

    Returns:
        A dataset of known cardinality; every int input is ``int32 [batch, longest]``.
    """
    lengths = features.lengths()
    columns = {name: tf.RaggedTensor.from_row_splits(r.values, r.row_splits, validate=False)
               for name, r in features.inputs.items()}
    labels = features.labels if with_labels and features.labels is not None else None
    ds = tf.data.Dataset.from_tensor_slices((columns, labels) if labels is not None else (columns,))
    if shuffle:
        ds = ds.shuffle(len(features), seed=seed, reshuffle_each_iteration=True)
    boundaries = bucket_boundaries(lengths, buckets) if shuffle else []
    if boundaries:
        edges = tf.constant(boundaries, tf.int64)
        first = next(iter(features.inputs))
        ds = ds.group_by_window(
            key_func=lambda cols, *rest: tf.searchsorted(edges, tf.size(cols[first], tf.int64)[None],
                                                         side="right", out_type=tf.int64)[0],
            reduce_func=lambda _key, window: window.ragged_batch(batch_size),
            window_size=batch_size)
    else:
        ds = ds.ragged_batch(batch_size)
    ds = ds.map(lambda cols, *rest: _pad(cols, pad_values) + tuple(rest), num_parallel_calls=tf.data.AUTOTUNE)
    if labels is None:
        ds = ds.map(lambda cols: cols)
    ds = ds.apply(tf.data.experimental.assert_cardinality(batch_count(lengths, batch_size, boundaries)))
    return ds.prefetch(tf.data.AUTOTUNE)


def _pad(columns: Mapping[str, tf.RaggedTensor], pad_values: Mapping[str, int]) -> tuple[dict[str, tf.Tensor]]:
    first = next(iter(columns.values()))
    out = {name: rt.to_tensor(default_value=pad_values.get(name, 0)) for name, rt in columns.items()}
    width = tf.shape(out[next(iter(out))])[1]
    out["attention_mask"] = tf.sequence_mask(first.row_lengths(), maxlen=width, dtype=tf.int32)
    return (out,)
