"""tf.data pipelines that pad each batch only to what its members need.

Shuffled training batches are drawn from length buckets: with 8 buckets at the length
octiles of an IMDB-like set (median ~230 tokens), a batch mixes reviews whose lengths
differ by one octile at most instead of 60 vs 512 tokens, so most of a batch is text
rather than padding. A bucket is a run of the features sorted by length, its count a
multiple of the batch size (so only the last bucket ends with a partial batch), and by
default every batch of a bucket is padded to the bucket's longest feature: a run sees at
most buckets + 1 batch shapes, all in its first epoch. Each new shape costs the train
step one to four steps' time (its fused kernels compile per shape). Padding each batch to
its own longest feature gave 13-15 shapes an epoch of 2,000 tweet-like texts (batch 32)
and 70-80 for 1,000 IMDB-like reviews (batch 8), about 20 of them new in every later epoch,
for 10% and 8% of tokens padding; bucket widths give 9 and 7 shapes, 11% and 10%.

Sequence labels (seq2seq targets, stored as :class:`Ragged`) are padded per batch too,
with ``label_pad`` (-100: the id every tfft and Hugging Face loss ignores). With
``pad_to_multiple_of=m`` every batch is padded to its own longest feature rounded up to
a multiple of m (inputs and labels): for m 8 and inputs up to 64 tokens a run sees at
most 8 input widths, so an XLA-compiled step or generate compiles at most 8 times
instead of once per length.
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


def bucket_ids(lengths: np.ndarray, buckets: int, batch_size: int) -> np.ndarray:
    """The length bucket of each feature: the features sorted by length (ties in order) cut
    into ``buckets`` runs of equal count, each count rounded up to a multiple of ``batch_size``
    (so every bucket but the last fills whole batches; fewer buckets when there are fewer
    than ``buckets`` batches).

    Example: lengths 1..100, 4 buckets, batch 10: buckets of 30, 30, 30 and 10 features.
    """
    lengths = np.asarray(lengths)
    if buckets <= 1 or len(lengths) == 0:
        return np.zeros(len(lengths), np.int64)
    size = round_up(-(-len(lengths) // buckets), batch_size)
    ids = np.empty(len(lengths), np.int64)
    ids[np.argsort(lengths, kind="stable")] = np.arange(len(lengths)) // size
    return ids


def bucket_widths(lengths: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Each bucket's padded width: its longest feature (index: the bucket id)."""
    widths = np.zeros(int(ids.max()) + 1 if len(ids) else 0, np.int64)
    np.maximum.at(widths, ids, np.asarray(lengths, np.int64))
    return widths


def batch_count(ids: np.ndarray, batch_size: int) -> int:
    """Number of batches ``group_by_window`` yields from buckets ``ids``: each bucket ends with
    one partial batch, if its count is not a multiple of ``batch_size``."""
    counts = np.bincount(np.asarray(ids, np.int64)) if len(ids) else np.zeros(0, np.int64)
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
                 with_labels: bool = True, pad_to_multiple_of: int = 1, bucket_width: bool = True,
                 label_pad: int = LABEL_PAD, reshuffle: bool = True,
                 batch_sizes: Optional[np.ndarray] = None) -> tf.data.Dataset:
    """Batches ``features`` into ``(inputs, labels)`` with per-batch padding and an attention mask.

    Args:
        features: Unpadded token ids (and labels: an array, or :class:`Ragged` sequences).
        batch_size: Global batch size (per-replica batch x replicas).
        pad_values: Pad id per input name (e.g. the tokenizer's pad id for ``input_ids``).
        shuffle: Reshuffle every epoch (seeded).
        seed: Shuffle seed.
        buckets: Length buckets for shuffled batches (0 or 1: none; see :func:`bucket_ids`).
        with_labels: Yield ``(inputs, labels)``; else inputs only.
        pad_to_multiple_of: Round every padded width up to a multiple of this.
        bucket_width: Pad bucketed batches to their bucket's longest feature (a fixed width per
            bucket, so few shapes); else each batch to its own longest feature.
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
    ids = bucket_ids(lengths, buckets, batch_size) if shuffle else np.zeros(len(lengths), np.int64)
    planned = batch_sizes is not None and not shuffle

    def pad(cols: Mapping[str, tf.RaggedTensor], *rest: tf.Tensor, width: Optional[tf.Tensor] = None) -> tuple:
        padded = tuple(_pad_labels(r, label_pad, pad_to_multiple_of) for r in rest)
        return _pad(cols, pad_values, pad_to_multiple_of, width) + padded

    if shuffle and buckets > 1 and len(lengths):
        widths = bucket_widths(lengths, ids)
        table = tf.constant(-(-widths // pad_to_multiple_of) * pad_to_multiple_of, tf.int32)
        ds = _bucketed(ds, ids, batch_size, seed, reshuffle).map(
            lambda keys, element: pad(*element, width=tf.gather(table, keys[0]) if bucket_width else None),
            num_parallel_calls=PARALLEL_CALLS)
    else:
        if shuffle:
            ds = ds.shuffle(len(features), seed=seed, reshuffle_each_iteration=reshuffle)
        batched = _planned_batches(ds, np.asarray(batch_sizes, np.int64), len(features)) if planned \
            else ds.ragged_batch(batch_size)
        ds = batched.map(pad, num_parallel_calls=PARALLEL_CALLS)
    if labels is None:
        ds = ds.map(lambda cols: cols)
    count = len(batch_sizes) if planned else batch_count(ids, batch_size)
    ds = ds.apply(tf.data.experimental.assert_cardinality(count))
    options = tf.data.Options()
    # multi-worker: every worker builds the same batches and keeps its share of each (no file sharding)
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return prefetched(ds.with_options(options))


def _bucketed(ds: tf.data.Dataset, ids: np.ndarray, batch_size: int, seed: Optional[int],
              reshuffle: bool) -> tf.data.Dataset:
    """Shuffled ragged batches of ``batch_size`` from one bucket each, as ``(bucket ids, batch)``."""
    keyed = tf.data.Dataset.zip((tf.data.Dataset.from_tensor_slices(ids), ds))
    return keyed.shuffle(len(ids), seed=seed, reshuffle_each_iteration=reshuffle).group_by_window(
        key_func=lambda key, _element: key, reduce_func=lambda _key, window: window.ragged_batch(batch_size),
        window_size=batch_size)


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
         multiple: int, width: Optional[tf.Tensor] = None) -> tuple[dict[str, tf.Tensor]]:
    first = next(iter(columns.values()))
    width = _width(first, multiple) if width is None else width
    shape = tf.stack([first.nrows(), tf.cast(width, tf.int64)])
    out = {name: rt.to_tensor(default_value=pad_values.get(name, 0), shape=shape) for name, rt in columns.items()}
    out["attention_mask"] = tf.sequence_mask(first.row_lengths(), maxlen=width, dtype=tf.int32)
    return (out,)


def _pad_labels(labels: tf.Tensor, label_pad: int, multiple: int) -> tf.Tensor:
    if not isinstance(labels, tf.RaggedTensor):
        return labels
    shape = tf.stack([labels.nrows(), tf.cast(_width(labels, multiple), tf.int64)])
    return labels.to_tensor(default_value=label_pad, shape=shape)
