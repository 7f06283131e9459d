"""The batching policy of a run: batch sizes, padded widths, epoch and evaluation datasets,
step counts. Everything it needs is passed in (the replica count, whether the task plans
evaluation batches), so it sits below the strategy and the task registry.

Example:
    >>> plan = BatchPlan.of(cfg, replicas=2)            # batch_size 8 -> 16 examples a step
    >>> train = plan.epoch(features, pads, epoch=0)     # shuffled as (seed, epoch) fixes
    >>> steps = plan.steps(features, epochs=cfg.epochs)  # what the schedule spans
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Mapping, Optional

import numpy as np
import tensorflow as tf

from tfft.data.features import Features
from tfft.data.pipeline import batch_count, bucket_boundaries, make_dataset, plan_batches, round_up

if TYPE_CHECKING:
    from tfft.config import Config

XLA_PAD_MULTIPLE = 32  # with --jit_compile: at most max_length / 32 widths per bucket to compile
_EPOCH_SEED_STRIDE = 100_003  # a prime: (seed, epoch) pairs give distinct shuffle seeds


def pad_multiple(cfg: "Config") -> int:
    """Padded widths are multiples of this (``--pad_to_multiple_of``, else 32 under
    ``--jit_compile`` so XLA compiles few shapes, else 1)."""
    return cfg.pad_to_multiple_of or (XLA_PAD_MULTIPLE if cfg.jit_compile else 1)


@dataclasses.dataclass(frozen=True)
class BatchPlan:
    """How one run batches its data.

    Attributes:
        train_batch: Examples per optimizer step (global batch x gradient accumulation).
        eval_batch: Largest evaluation batch (global).
        pad_multiple: Padded widths are multiples of this.
        buckets: Length buckets of the training batches (0: none).
        seed: The run's seed; each epoch's order is fixed by (seed, epoch).
        plan_eval: Evaluation batches may vary in size (False where each shape compiles).
    """

    train_batch: int
    eval_batch: int
    pad_multiple: int = 1
    buckets: int = 0
    seed: int = 0
    plan_eval: bool = True

    @classmethod
    def of(cls, cfg: "Config", replicas: int, plan_eval: bool = True) -> "BatchPlan":
        """The plan of ``cfg`` on ``replicas`` devices (per-replica batch sizes times replicas)."""
        return cls(train_batch=cfg.batch_size * replicas * cfg.gradient_accumulation_steps,
                   eval_batch=cfg.eval_batch_size * replicas, pad_multiple=pad_multiple(cfg),
                   buckets=cfg.length_buckets, seed=cfg.seed, plan_eval=plan_eval and pad_multiple(cfg) == 1)

    def train(self, features: Features, pads: Mapping[str, int], *, seed: int,
              reshuffle: bool) -> tf.data.Dataset:
        """Shuffled, length-bucketed training batches of ``train_batch`` examples."""
        return make_dataset(features, batch_size=self.train_batch, pad_values=pads, shuffle=True, seed=seed,
                            buckets=self.buckets, pad_to_multiple_of=self.pad_multiple, reshuffle=reshuffle)

    def epoch(self, features: Features, pads: Mapping[str, int], epoch: int, skip: int = 0) -> tf.data.Dataset:
        """The training batches of one epoch, in an order fixed by (seed, ``epoch``), less the
        first ``skip`` (already trained on before a resume)."""
        batches = self.train(features, pads, seed=self.seed * _EPOCH_SEED_STRIDE + epoch, reshuffle=False)
        return batches.skip(skip) if skip else batches

    def evaluation(self, features: Features, pads: Mapping[str, int], with_labels: bool = True) -> tf.data.Dataset:
        """Unshuffled batches of up to ``eval_batch``, shortest first (order does not change a
        loss or metric averaged over the split, and batches pad little)."""
        return self.sorted_batches(features.take(features.shortest_first()), pads, with_labels)

    def sorted_batches(self, ordered: Features, pads: Mapping[str, int], with_labels: bool) -> tf.data.Dataset:
        """Evaluation batches of ``ordered`` (sorted shortest first) as :meth:`eval_sizes` plans them."""
        return make_dataset(ordered, batch_size=self.eval_batch, pad_values=pads, with_labels=with_labels,
                            pad_to_multiple_of=self.pad_multiple, batch_sizes=self.eval_sizes(ordered))

    def eval_sizes(self, ordered: Features) -> Optional[np.ndarray]:
        """Batch sizes for ``ordered`` (sorted shortest first), or None for fixed batches.

        Sorted features still pad a lot where lengths spread, as in a small split's long tail
        (64 IMDB-like reviews in two batches of 32 pad to 1.41x their tokens; planned, 1.12x).
        The batches are cut where that saves more padding than a step costs, counted as one
        longest feature (:func:`~tfft.data.pipeline.plan_batches`), never above ``eval_batch``.
        Fixed batches are kept where every new shape compiles: padded widths rounded to a
        multiple (XLA) and generation.
        """
        lengths = ordered.lengths()
        if not self.plan_eval or len(lengths) == 0:
            return None
        return plan_batches(lengths, self.eval_batch, step_cost=int(lengths.max()))

    def widths(self, features: Features) -> int:
        """About how many padded widths an epoch's training batches take: at most one per
        batch and one per distinct (rounded) length."""
        rounded = {round_up(n, self.pad_multiple) for n in np.unique(features.lengths())}
        return min(self.steps(features, 1), len(rounded))

    def steps(self, features: Features, epochs: int) -> int:
        """Optimizer steps of ``epochs`` over ``features``: batches per epoch (as bucketed) times epochs."""
        lengths = features.lengths()
        return epochs * batch_count(lengths, self.train_batch,
                                    bucket_boundaries(lengths, self.buckets, self.pad_multiple))
