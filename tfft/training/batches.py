"""The run's batches under its strategy: the batch plan (:class:`tfft.data.batching.BatchPlan`
with the strategy's replica count and the task's evaluation policy) and the datasets a run
trains and scores on. The runner builds the plan once and passes it on; without one, each
function builds it from the config.

Example:
    >>> plan = batch_plan(cfg)
    >>> steps = train_steps(cfg, plan)          # what the learning-rate schedule spans
    >>> first = epoch_dataset(cfg, 0, plan=plan)
"""

from __future__ import annotations

from typing import Any, Optional

import tensorflow as tf

from tfft.data.batching import BatchPlan
from tfft.data.features import Features
from tfft.data.prepare import Prepared, prepare
from tfft.tasks import get_task
from tfft.training.strategy import strategy_for


def batch_plan(cfg: Any) -> BatchPlan:
    """How ``cfg`` batches its data under its strategy."""
    return BatchPlan.of(cfg, strategy_for(cfg).num_replicas_in_sync, get_task(cfg.task).plans_eval_batches)


def global_batch(cfg: Any, per_replica: int) -> int:
    """Per-replica batch times the replicas of the run's strategy."""
    return per_replica * strategy_for(cfg).num_replicas_in_sync


def epoch_dataset(cfg: Any, epoch: int, skip: int = 0, plan: Optional[BatchPlan] = None) -> tf.data.Dataset:
    """The training batches of one epoch (:meth:`BatchPlan.epoch`), less the first ``skip``."""
    prepared = prepare(cfg)
    return (plan or batch_plan(cfg)).epoch(prepared.features["train"], prepared.pad_values(), epoch, skip)


def eval_dataset(cfg: Any, prepared: Prepared, features: Features, with_labels: bool = True,
                 plan: Optional[BatchPlan] = None) -> tf.data.Dataset:
    """Evaluation batches of ``features``, shortest first (:meth:`BatchPlan.evaluation`)."""
    return (plan or batch_plan(cfg)).evaluation(features, prepared.pad_values(), with_labels)


def train_steps(cfg: Any, plan: Optional[BatchPlan] = None) -> int:
    """Optimizer steps of the whole run: batches per epoch (as bucketed) times epochs."""
    return (plan or batch_plan(cfg)).steps(prepare(cfg).features["train"], cfg.epochs)
