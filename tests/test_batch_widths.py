"""The padded widths of training batches: one a length bucket by default (few shapes, all met
in the first epoch), each batch's own under an explicit --pad_to_multiple_of."""

from types import SimpleNamespace

import numpy as np
import pytest

from tfft.data.batching import XLA_PAD_MULTIPLE, BatchPlan
from tfft.data.features import Features, Ragged

LENGTHS = np.random.default_rng(0).lognormal(np.log(22), 0.5, 300).clip(3, 64).astype(int)


def cfg(**overrides):
    values = dict(batch_size=16, gradient_accumulation_steps=1, eval_batch_size=32, pad_to_multiple_of=None,
                  jit_compile=False, length_buckets=8, seed=0)
    return SimpleNamespace(**{**values, **overrides})


def features(lengths=LENGTHS):
    rows = [[5 + i % 7] * int(n) for i, n in enumerate(lengths)]
    return Features(inputs={"input_ids": Ragged.from_lists(rows)}, labels=np.arange(len(rows), dtype=np.int32))


def epoch_shapes(plan, epochs=3):
    """Shapes per epoch and, per batch, (width, lengths of its members)."""
    shapes, batches = [], []
    for epoch in range(epochs):
        ds = plan.epoch(features(), {"input_ids": 0}, epoch)
        batch = [(x["input_ids"].shape, x["attention_mask"].sum(axis=1)) for x, _ in ds.as_numpy_iterator()]
        shapes.append({s for s, _ in batch})
        batches += [(s[1], m) for s, m in batch]
        assert len(batch) == plan.steps(features(), epochs=1)
    return shapes, batches


def test_default_widths_are_bounded_and_all_met_in_the_first_epoch():
    plan = BatchPlan.of(cfg(), replicas=1)
    shapes, batches = epoch_shapes(plan)
    assert plan.bucket_width and plan.pad_multiple == 1
    assert len(shapes[0]) <= 8 + 1  # a width a bucket, a partial batch in the last bucket only
    assert shapes[1] <= shapes[0] and shapes[2] <= shapes[0]  # no new shape after the first epoch
    assert all(width >= lengths.max() for width, lengths in batches)  # every example fits
    exact = epoch_shapes(BatchPlan.of(cfg(pad_to_multiple_of=1), replicas=1))[1]
    assert sum(w * len(m) for w, m in batches) < 1.1 * sum(w * len(m) for w, m in exact)  # little more padding


def test_a_bucket_s_batches_share_its_width_and_stay_within_its_lengths():
    plan = BatchPlan.of(cfg(batch_size=8, length_buckets=4), replicas=1)
    _, batches = epoch_shapes(plan, epochs=1)
    by_width = {}
    for width, lengths in batches:
        by_width.setdefault(width, []).append(lengths)
    assert len(by_width) <= 4
    spans = sorted((min(x.min() for x in v), max(x.max() for x in v)) for v in by_width.values())
    assert all(high <= width for width, (_, high) in zip(sorted(by_width), spans))
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # buckets do not overlap


@pytest.mark.parametrize("multiple", [1, 8])
def test_an_explicit_pad_to_multiple_of_pads_each_batch_to_its_own_longest(multiple):
    plan = BatchPlan.of(cfg(pad_to_multiple_of=multiple), replicas=1)
    assert not plan.bucket_width and plan.pad_multiple == multiple
    _, batches = epoch_shapes(plan, epochs=1)
    assert all(width % multiple == 0 and width - multiple < lengths.max() for width, lengths in batches)


def test_jit_compile_rounds_bucket_widths_to_its_multiple_and_explicit_multiples_win():
    plan = BatchPlan.of(cfg(jit_compile=True), replicas=1)
    assert plan.pad_multiple == XLA_PAD_MULTIPLE and not plan.plan_eval
    shapes, batches = epoch_shapes(plan, epochs=2)
    assert {w for w, _ in batches} <= {32, 64} and shapes[1] <= shapes[0]
    assert all(width >= lengths.max() for width, lengths in batches)
    assert BatchPlan.of(cfg(jit_compile=True, pad_to_multiple_of=8), replicas=1).pad_multiple == 8


def test_without_buckets_each_batch_pads_to_its_own_longest():
    plan = BatchPlan.of(cfg(length_buckets=0), replicas=1)
    _, batches = epoch_shapes(plan, epochs=1)
    assert all(width == lengths.max() for width, lengths in batches)
