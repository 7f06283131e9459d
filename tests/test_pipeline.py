"""tf.data batching: per-batch padding, masks, buckets, cardinality."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfft.data.features import Features, Ragged
from tfft.data.pipeline import batch_count, bucket_boundaries, make_dataset, plan_batches


def features_of(lengths, seed=0):
    rng = np.random.default_rng(seed)
    rows = [list(rng.integers(5, 100, size=n)) for n in lengths]
    # the label is the example's index, so each batch says which examples it holds
    return Features(inputs={"input_ids": Ragged.from_lists(rows)}, labels=np.arange(len(rows), dtype=np.int32)), rows


@settings(max_examples=25, deadline=None)
@given(lengths=st.lists(st.integers(1, 40), min_size=1, max_size=60), batch=st.integers(1, 9),
       buckets=st.integers(0, 5), shuffle=st.booleans())
def test_each_batch_is_padded_only_to_its_longest_example(lengths, batch, buckets, shuffle):
    features, rows = features_of(lengths)
    ds = make_dataset(features, batch_size=batch, pad_values={"input_ids": 0}, shuffle=shuffle, seed=1,
                      buckets=buckets)
    seen = []
    for inputs, labels in ds:
        ids, mask, idx = inputs["input_ids"].numpy(), inputs["attention_mask"].numpy(), labels.numpy()
        assert ids.shape[1] == max(lengths[i] for i in idx)  # padded to the longest member, no more
        assert ids.shape[0] <= batch
        for row, m, i in zip(ids, mask, idx):
            n = lengths[i]
            assert list(row[:n]) == rows[i] and not row[n:].any()
            assert m.sum() == n and m[:n].all()
        seen.extend(idx.tolist())
    assert sorted(seen) == list(range(len(lengths)))  # every example exactly once per epoch
    assert int(ds.cardinality()) == len(list(ds.as_numpy_iterator()))


def test_unshuffled_batches_keep_example_order():
    features, _ = features_of([3, 9, 1, 4, 7])
    labels = np.concatenate([y.numpy() for _, y in make_dataset(features, batch_size=2, pad_values={})])
    assert labels.tolist() == [0, 1, 2, 3, 4]


def test_shuffle_is_seeded_and_reshuffles_each_epoch():
    features, _ = features_of([5] * 64)
    ds = make_dataset(features, batch_size=64, pad_values={}, shuffle=True, seed=7)
    first, second = (np.concatenate([y.numpy() for _, y in ds]) for _ in range(2))
    again = np.concatenate([y.numpy() for _, y in make_dataset(features, batch_size=64, pad_values={},
                                                                shuffle=True, seed=7)])
    assert not np.array_equal(first, second)
    assert np.array_equal(first, again)


def test_bucket_boundaries_split_lengths_into_equal_counts():
    assert bucket_boundaries(np.arange(1, 101), 4) == [26, 51, 76]
    assert bucket_boundaries(np.arange(1, 101), 1) == []
    assert batch_count(np.arange(1, 101), 10, [26, 51, 76]) == 12  # 25 per bucket -> 3 batches each


def test_buckets_reduce_padding_on_a_long_tailed_length_mix():
    lengths = np.random.default_rng(0).lognormal(np.log(230), 0.6, 2000).clip(8, 512).astype(int)
    features, _ = features_of(lengths)
    padded = {}
    for buckets in (0, 8):
        ds = make_dataset(features, batch_size=16, pad_values={}, shuffle=True, seed=0, buckets=buckets)
        padded[buckets] = sum(int(np.prod(x["input_ids"].shape)) for x, _ in ds)
    assert padded[8] < 0.8 * padded[0]
    assert padded[8] < 1.15 * lengths.sum()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 50), max_size=6), max_size=12), st.data())
def test_take_reorders_rows_inputs_labels_and_extras_alike(rows, data):
    index = np.asarray(data.draw(st.lists(st.integers(0, max(len(rows) - 1, 0)), max_size=15) if rows else st.just([])),
                       dtype=np.int64)
    ragged = Ragged.from_lists(rows)
    assert [list(ragged.take(index).row(i)) for i in range(len(index))] == [rows[i] for i in index]
    labels = np.arange(len(rows)) * 10
    features = Features({"input_ids": ragged}, labels=labels, example_index=np.arange(len(rows)),
                        extras={"offsets": ragged, "cls": labels + 1})
    taken = features.take(index)
    assert taken.labels.tolist() == (labels[index]).tolist() and taken.example_index.tolist() == index.tolist()
    assert taken.extras["cls"].tolist() == (labels[index] + 1).tolist()
    assert [list(taken.extras["offsets"].row(i)) for i in range(len(index))] == [rows[i] for i in index]


def _brute_force_cost(lengths, max_batch, step_cost):
    """Least cost over every way to cut sorted ``lengths`` into consecutive batches."""
    best = [0.0] + [float("inf")] * len(lengths)
    for end in range(1, len(lengths) + 1):
        for size in range(1, min(max_batch, end) + 1):
            best[end] = min(best[end], best[end - size] + size * lengths[end - 1] + step_cost)
    return best[-1]


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.integers(1, 60), min_size=1, max_size=25), max_batch=st.integers(1, 8),
       step_cost=st.integers(0, 80))
def test_planned_batches_cost_the_least_padding_plus_steps(lengths, max_batch, step_cost):
    lengths = sorted(lengths)
    sizes = plan_batches(np.array(lengths), max_batch, step_cost)
    assert sizes.sum() == len(lengths) and sizes.min() >= 1 and sizes.max() <= max_batch
    ends = np.cumsum(sizes)
    cost = sum(int(size) * lengths[end - 1] + step_cost for size, end in zip(sizes, ends))
    assert cost == _brute_force_cost(lengths, max_batch, step_cost)


def test_a_long_tail_is_cut_into_more_batches_only_where_padding_outweighs_a_step():
    assert plan_batches(np.array([10, 10, 100, 100]), 4, step_cost=50).tolist() == [2, 2]
    assert plan_batches(np.array([10, 10, 100, 100]), 4, step_cost=500).tolist() == [4]
    with pytest.raises(ValueError, match="sorted shortest first"):
        plan_batches(np.array([5, 3]), 4, step_cost=1)


def test_planned_batches_come_in_order_with_their_sizes():
    lengths = [1, 2, 2, 5, 9, 9, 9, 30]
    features, rows = features_of(lengths)
    ds = make_dataset(features, batch_size=4, pad_values={"input_ids": 0}, batch_sizes=np.array([3, 1, 3, 1]))
    batches = list(ds.as_numpy_iterator())
    assert [labels.tolist() for _, labels in batches] == [[0, 1, 2], [3], [4, 5, 6], [7]]
    assert [inputs["input_ids"].shape[1] for inputs, _ in batches] == [2, 5, 9, 30]
    assert int(ds.cardinality()) == 4
    assert batches[3][0]["input_ids"][0].tolist() == rows[7]
    with pytest.raises(ValueError, match="add up to the 8 features"):
        make_dataset(features, batch_size=4, pad_values={"input_ids": 0}, batch_sizes=np.array([3, 1]))
