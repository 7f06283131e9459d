"""tf.data pipelines that pad each batch only to its longest member.

Shuffled training batches can also be drawn from length buckets: with 8 buckets at the
length octiles of an IMDB-like set (median ~230 tokens), a batch mixes reviews whose
lengths differ by one octile at most instead of 60 vs 512 tokens, so most of a batch is
text rather than padding.

Sequence labels (seq2seq targets, stored as :class:`Ragged`) are padded per batch too,
with ``label_pad`` (-100: the id every tfft and Hugging Face loss ignores). With
``pad_to_multiple_of=m`` every padded width (inputs and labels) and every bucket limit is
a multiple of m: for m 8 and inputs up to 64 tokens a run sees at most 8 input widths,
so an XLA-compiled step or generate compiles at most 8 times instead of once per length.
"""

from __future__ import annotations

from typing import Mapping, Optional

import numpy as np
import tensorflow as tf

from tfft.data.features import Features, Ragged

LABEL_PAD = -100
# Padding a batch takes well under a millisecond and a train step hundreds, so two parallel
# calls and two prefetched batches keep the step fed; tf.data's autotuner is not needed.
PARALLEL_CALLS, PREFETCH = 2, 2


def round_up(value: int, multiple: int) -> int:
    """The smallest multiple of ``multiple`` that is >= ``value``."""
    return -(-int(value) // multiple) * multiple


def bucket_boundaries(lengths: np.ndarray, buckets: int, multiple: int = 1) -> list[int]:
    """Upper length limits (exclusive) splitting ``lengths`` into ``buckets`` groups of equal count.

    With ``multiple`` > 1 each bucket's longest length (limit - 1) is rounded up to a
    multiple of it, so a bucket's batches pad to at most that multiple.

    Example: lengths 1..100 and 4 buckets give [26, 51, 76]; with multiple 8, [33, 57, 81].
    """
    if buckets <= 1 or len(lengths) == 0:
        return []
    qs = np.quantile(lengths, np.linspace(0, 1, buckets + 1)[1:-1], method="lower")
    return sorted({round_up(int(q), multiple) + 1 for q in qs})


def batch_count(lengths: np.ndarray, batch_size: int, boundaries: list[int]) -> int:
    """Number of batches ``group_by_window`` yields: each bucket ends with one partial batch."""
    bucket_ids = np.searchsorted(np.asarray(boundaries), lengths, side="right") if boundaries else np.zeros(len(lengths))
    counts = np.bincount(bucket_ids.astype(np.int64)) if len(lengths) else np.zeros(0, np.int64)
    return int(sum(-(-c // batch_size) for c in counts if c))


def plan_batches(lengths: np.ndarray, max_batch: int, step_cost: int) -> np.ndarray:
    """Sizes of consecutive batches of ``lengths`` (sorted shortest first) at least cost.

    A batch costs its padded tokens (size x longest length) plus ``step_cost`` tokens for
    the step itself, so a batch is split only where that saves more padding than a step
    costs. Dynamic programming over where each batch ends, with at most ``max_batch``
    features a batch (so no batch is bigger than a fixed batching would make it).

    Example: lengths [10, 10, 100, 100], max_batch 4: step_cost 50 gives [2, 2] (one batch
    would pad 180 tokens, more than a step), step_cost 500 gives [4].
    """
    lengths = np.asarray(lengths, np.int64)
    if len(lengths) and np.any(np.diff(lengths) < 0):
        raise ValueError("plan_batches needs lengths sorted shortest first.")
    best = np.zeros(len(lengths) + 1)
    start = np.zeros(len(lengths) + 1, np.int64)
    for end in range(1, len(lengths) + 1):
        first = np.arange(max(0, end - max_batch), end)
        costs = best[first] + (end - first) * lengths[end - 1] + step_cost
        pick = int(np.argmin(costs))
        best[end], start[end] = costs[pick], first[pick]
    sizes, end = [], len(lengths)
    while end > 0:
        sizes.append(end - start[end])
        end = int(start[end])
    return np.asarray(sizes[::-1], np.int64)


def make_dataset(features: Features, *, batch_size: int, pad_values: Mapping[str, int],
                 shuffle: bool = False, seed: Optional[int] = None, buckets: int = 0,
                 with_labels: bool = True, pad_to_multiple_of: int = 1,
                 label_pad: int = LABEL_PAD, reshuffle: bool = True,
                 batch_sizes: Optional[np.ndarray] = None) -> tf.data.Dataset:
    """Batches ``features`` into ``(inputs, labels)`` with per-batch padding and an attention mask.

    Args:
        features: Unpadded token ids (and labels: an array, or :class:`Ragged` sequences).
        batch_size: Global batch size (per-replica batch x replicas).
        pad_values: Pad id per input name (e.g. the tokenizer's pad id for ``input_ids``).
        shuffle: Reshuffle every epoch (seeded).
        seed: Shuffle seed.
        buckets: Length buckets for shuffled batches (0 or 1: none).
        with_labels: Yield ``(inputs, labels)``; else inputs only.
        pad_to_multiple_of: Round every padded width (and bucket limit) up to a multiple of this.
        label_pad: Fill value of padded positions of sequence labels.
        reshuffle: A new order on every pass; else every pass repeats the order ``seed`` gives.
        batch_sizes: Unshuffled only: consecutive batches of these sizes (e.g. from
            :func:`plan_batches`) instead of ``batch_size`` each.

    Returns:
        A dataset of known cardinality; every int input is ``int32 [batch, width]``.
    """
    lengths = features.lengths()
    columns = {name: _ragged(r) for name, r in features.inputs.items()}
    labels = features.labels if with_labels and features.labels is not None else None
    if isinstance(labels, Ragged):
        labels = _ragged(labels)
    ds = tf.data.Dataset.from_tensor_slices((columns, labels) if labels is not None else (columns,))
    if shuffle:
        ds = ds.shuffle(len(features), seed=seed, reshuffle_each_iteration=reshuffle)
    boundaries = bucket_boundaries(lengths, buckets, pad_to_multiple_of) if shuffle else []
    planned = batch_sizes is not None and not shuffle
    if boundaries:
        edges = tf.constant(boundaries, tf.int64)
        first = next(iter(features.inputs))
        ds = ds.group_by_window(
            key_func=lambda cols, *rest: tf.searchsorted(edges, tf.size(cols[first], tf.int64)[None],
                                                         side="right", out_type=tf.int64)[0],
            reduce_func=lambda _key, window: window.ragged_batch(batch_size),
            window_size=batch_size)
    elif planned:
        ds = _planned_batches(ds, np.asarray(batch_sizes, np.int64), len(features))
    else:
        ds = ds.ragged_batch(batch_size)

    def pad(cols: Mapping[str, tf.RaggedTensor], *rest: tf.Tensor) -> tuple:
        padded = tuple(_pad_labels(r, label_pad, pad_to_multiple_of) for r in rest)
        return _pad(cols, pad_values, pad_to_multiple_of) + padded

    ds = ds.map(pad, num_parallel_calls=PARALLEL_CALLS)
    if labels is None:
        ds = ds.map(lambda cols: cols)
    count = len(batch_sizes) if planned else batch_count(lengths, batch_size, boundaries)
    ds = ds.apply(tf.data.experimental.assert_cardinality(count))
    options = tf.data.Options()
    # multi-worker: every worker builds the same batches and keeps its share of each (no file sharding)
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return prefetched(ds.with_options(options))


def prefetched(ds: tf.data.Dataset) -> tf.data.Dataset:
    """``ds`` prefetching :data:`PREFETCH` batches, with tf.data's autotuner off.

    With the autotuner on, destroying an iterator after it was read while TensorFlow kept
    the cores busy blocks for up to ~10 s (measured 9.1-9.5 s after three MiniLM train
    steps, 0 s with it off). Keras destroys its iterator at the end of every ``fit`` and
    tfft fits one epoch at a time, so that was up to 10 s lost per epoch (a third of a
    3-step benchmark epoch).
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(PREFETCH).with_options(options)


def _planned_batches(ds: tf.data.Dataset, sizes: np.ndarray, total: int) -> tf.data.Dataset:
    """Consecutive ragged batches of ``sizes``: each batch's window fills and is emitted in turn."""
    if int(sizes.sum()) != total or np.any(sizes < 1):
        raise ValueError(f"batch_sizes must be positive and add up to the {total} features; got {sizes.tolist()}.")
    batch_of = tf.constant(np.repeat(np.arange(len(sizes)), sizes), tf.int64)
    size_of = tf.constant(sizes, tf.int64)
    return ds.enumerate().group_by_window(
        key_func=lambda index, _element: tf.gather(batch_of, index),
        reduce_func=lambda _key, window: window.map(lambda _index, element: element).ragged_batch(int(sizes.max())),
        window_size_func=lambda key: tf.gather(size_of, key))


def _ragged(rows: Ragged) -> tf.RaggedTensor:
    return tf.RaggedTensor.from_row_splits(rows.values, rows.row_splits, validate=False)


def _width(rt: tf.RaggedTensor, multiple: int) -> tf.Tensor:
    longest = tf.cast(tf.reduce_max(tf.concat([rt.row_lengths(), [0]], 0)), tf.int32)
    return (longest + multiple - 1) // multiple * multiple


def _pad(columns: Mapping[str, tf.RaggedTensor], pad_values: Mapping[str, int],
         multiple: int) -> tuple[dict[str, tf.Tensor]]:
    first = next(iter(columns.values()))
    width = _width(first, multiple)
    shape = tf.stack([first.nrows(), tf.cast(width, tf.int64)])
    out = {name: rt.to_tensor(default_value=pad_values.get(name, 0), shape=shape) for name, rt in columns.items()}
    out["attention_mask"] = tf.sequence_mask(first.row_lengths(), maxlen=width, dtype=tf.int32)
    return (out,)


def _pad_labels(labels: tf.Tensor, label_pad: int, multiple: int) -> tf.Tensor:
    if not isinstance(labels, tf.RaggedTensor):
        return labels
    shape = tf.stack([labels.nrows(), tf.cast(_width(labels, multiple), tf.int64)])
    return labels.to_tensor(default_value=label_pad, shape=shape)
