"""The task's Keras model, created and compiled under the run's strategy: loaded weights, the
fine-tuning mode (:mod:`tfft.models.modes`), the optimizer and schedule, loss and metrics."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import tensorflow as tf

from tfft.data.batching import BatchPlan
from tfft.data.prepare import load_model_context, prepare
from tfft.models import fused, modes
from tfft.progress import Progress
from tfft.tasks import TaskInfo
from tfft.training.batches import batch_plan, train_steps
from tfft.training.optimizer import make_optimizer
from tfft.training.strategy import set_precision, strategy_for


def model_info(cfg: Any) -> tuple[Any, str, Any, TaskInfo]:
    """Task, model directory, tokenizer and task facts, without reading training data when it can."""
    if cfg.mode in ("train", "evaluate"):
        prepared = prepare(cfg)
        return prepared.task, prepared.model_dir, prepared.tokenizer, prepared.info
    task, model_dir, tokenizer, saved, max_length = load_model_context(cfg)
    info = TaskInfo.from_dict(saved) if saved else task.data_info(cfg, None)
    return task, model_dir, tokenizer, task.update_info(cfg, dataclasses.replace(info, max_length=max_length))


def _fusion_pays(cfg: Any, steps: int, plan: Optional[BatchPlan]) -> bool:
    """Whether a training run's steps repay the fused GELU / LayerNorm kernels' compile per
    batch width (:func:`tfft.models.fused.earns_its_compiles`); outside training, yes."""
    if cfg.mode != "train":
        return True
    train = prepare(cfg).features.get("train")  # memoised: the data the run trains on
    return train is None or fused.earns_its_compiles(steps, (plan or batch_plan(cfg)).widths(train))


def build_model(cfg: Any, total_steps: Optional[int] = None, plan: Optional[BatchPlan] = None) -> tf.keras.Model:
    """The task's Keras model, created and compiled under the run's strategy.

    Args:
        cfg: The run config; ``--finetune`` decides which weights train (see
            :mod:`tfft.models.modes`).
        total_steps: Optimizer steps the learning-rate schedule spans. Default: in train mode
            the run's (:func:`tfft.training.batches.train_steps`, which prepares the training
            data once; it is memoised), else 1.
        plan: The run's batch plan (default: ``cfg``'s), whose padded widths decide whether
            the fused kernels repay their compiles.
    """
    task, model_dir, _, info = model_info(cfg)
    steps = total_steps or (train_steps(cfg) if cfg.mode == "train" else 1)
    set_precision(cfg.mixed_precision)
    with strategy_for(cfg).scope(), Progress(f"Loading the model ({cfg.model})"):
        model = task.build_model(cfg, info, model_dir)
        modes.apply(model, cfg, model_dir)
        optimizer = make_optimizer(cfg.learning_rate, cfg.weight_decay, steps, cfg.warmup_ratio, cfg.optimizer,
                                   max_grad_norm=cfg.max_grad_norm, fused=cfg.fused_ops)
        model.accumulation_steps = cfg.gradient_accumulation_steps
        model.fused_ops = cfg.fused_ops and _fusion_pays(cfg, steps, plan)
        model.compile(optimizer=optimizer,
                      loss={name: task.loss(cfg, info) for name in model.output_names}
                      if len(model.output_names) > 1 else task.loss(cfg, info),
                      metrics=task.metrics(cfg, info), jit_compile=cfg.jit_compile)
    return model
