"""The library API a notebook uses: datasets, a compiled model, predictions, metrics, export.

Example:
    >>> import tfft
    >>> cfg = tfft.Config(task="imdb", model="minilm", train_file="train.csv", epochs=2)
    >>> train_ds, val_ds = tfft.datasets(cfg)
    >>> model = tfft.build_model(cfg)
    >>> model.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs)
    >>> tfft.export(model, cfg)
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence

from tfft import _env

_env.require_legacy_keras()
_env.import_tensorflow_quietly()
_env.quiet_libraries()

import numpy as np
import pandas as pd
import tensorflow as tf

from tfft.config import Config
from tfft.data.features import Features
from tfft.data.pipeline import bucket_boundaries, batch_count, make_dataset, plan_batches
from tfft.data.prepare import Prepared, featurize, load_model_context, pad_values, prepare
from tfft.models import modes
from tfft.progress import Progress, Tracked
from tfft.serving.saved_model import export_model
from tfft.tasks import TaskInfo
from tfft.training.optimizer import make_optimizer
from tfft.training.strategy import set_precision, strategy_for

def global_batch(cfg: Config, per_replica: int) -> int:
    """Per-replica batch times the replicas of the run's strategy."""
    return per_replica * strategy_for(cfg).num_replicas_in_sync


def train_batch(cfg: Config) -> int:
    """Examples per optimizer step: the global batch times ``gradient_accumulation_steps``."""
    return global_batch(cfg, cfg.batch_size) * cfg.gradient_accumulation_steps


def datasets(cfg: Config) -> tuple[tf.data.Dataset, Optional[tf.data.Dataset]]:
    """Training (shuffled, length-bucketed) and validation datasets of ``(inputs, labels)``."""
    prepared = prepare(cfg)
    if "train" not in prepared.features:
        raise ValueError("tfft.datasets needs training data: set train_file or dataset in the config.")
    train = _train_batches(cfg, prepared, seed=cfg.seed, reshuffle=True)
    val = eval_dataset(cfg, prepared, prepared.features["validation"]) if "validation" in prepared.features else None
    return train, val


def epoch_dataset(cfg: Config, epoch: int, skip: int = 0) -> tf.data.Dataset:
    """The training batches of one epoch, in an order fixed by (``cfg.seed``, ``epoch``), less the
    first ``skip`` (already trained on before a resume)."""
    train = _train_batches(cfg, prepare(cfg), seed=cfg.seed * 100_003 + epoch, reshuffle=False)
    return train.skip(skip) if skip else train


def _train_batches(cfg: Config, prepared: Prepared, seed: int, reshuffle: bool) -> tf.data.Dataset:
    """Shuffled, length-bucketed training batches of ``train_batch(cfg)`` examples."""
    return make_dataset(prepared.features["train"], batch_size=train_batch(cfg), pad_values=prepared.pad_values(),
                        shuffle=True, seed=seed, buckets=cfg.length_buckets, pad_to_multiple_of=pad_multiple(cfg),
                        reshuffle=reshuffle)


def eval_dataset(cfg: Config, prepared: Prepared, features: Features, with_labels: bool = True) -> tf.data.Dataset:
    """Unshuffled batches of up to ``eval_batch_size`` per replica, shortest first (order does
    not change a loss or metric averaged over the split, and batches pad little)."""
    return _sorted_batches(cfg, features.take(features.shortest_first()), prepared.pad_values(), with_labels)


def _sorted_batches(cfg: Config, ordered: Features, pads: dict[str, int], with_labels: bool) -> tf.data.Dataset:
    """Evaluation batches of ``ordered`` (sorted shortest first) as :func:`eval_batch_sizes` plans them."""
    return make_dataset(ordered, batch_size=global_batch(cfg, cfg.eval_batch_size), pad_values=pads,
                        with_labels=with_labels, pad_to_multiple_of=pad_multiple(cfg),
                        batch_sizes=eval_batch_sizes(cfg, ordered))


def eval_batch_sizes(cfg: Config, features: Features) -> Optional[np.ndarray]:
    """Batch sizes for ``features`` sorted shortest first, or None for fixed ``eval_batch_size`` batches.

    Sorted features still pad a lot where lengths spread, as in a small split's long tail
    (64 IMDB-like reviews in two batches of 32 pad to 1.41x their tokens; planned, 1.12x).
    The batches are cut where that saves more padding than a step costs, counted as one
    longest feature (:func:`~tfft.data.pipeline.plan_batches`), never above the fixed batch
    size. Fixed batches are kept where every new shape compiles: padded widths rounded to a
    multiple (XLA) and generation.
    """
    from tfft.tasks import get_task

    lengths = features.lengths()
    if pad_multiple(cfg) > 1 or not get_task(cfg.task).plans_eval_batches or len(lengths) == 0:
        return None
    return plan_batches(lengths, global_batch(cfg, cfg.eval_batch_size), step_cost=int(lengths.max()))


XLA_PAD_MULTIPLE = 32  # with --jit_compile: at most max_length / 32 widths per bucket to compile


def pad_multiple(cfg: Config) -> int:
    """Padded widths are multiples of this (``--pad_to_multiple_of``, else the task's, else 32
    under ``--jit_compile`` so XLA compiles few shapes, else 1)."""
    return cfg.pad_to_multiple_of or (XLA_PAD_MULTIPLE if cfg.jit_compile else 1)


def train_steps(cfg: Config) -> int:
    """Optimizer steps of the whole run: batches per epoch (as bucketed) times epochs."""
    features = prepare(cfg).features["train"]
    lengths = features.lengths()
    return cfg.epochs * batch_count(lengths, train_batch(cfg),
                                    bucket_boundaries(lengths, cfg.length_buckets, pad_multiple(cfg)))


def model_info(cfg: Config) -> tuple[Any, str, Any, TaskInfo]:
    """Task, model directory, tokenizer and task facts, without reading training data when it can."""
    if cfg.mode in ("train", "evaluate"):
        prepared = prepare(cfg)
        return prepared.task, prepared.model_dir, prepared.tokenizer, prepared.info
    task, model_dir, tokenizer, saved, max_length = load_model_context(cfg)
    info = TaskInfo.from_dict(saved) if saved else task.data_info(cfg, None)
    return task, model_dir, tokenizer, task.update_info(cfg, dataclasses.replace(info, max_length=max_length))


def build_model(cfg: Config) -> tf.keras.Model:
    """The task's Keras model, created and compiled under the run's strategy.

    In train mode the learning-rate schedule spans the run's total steps, so the training
    data is prepared (once; it is memoised) to count them. ``--finetune`` decides which
    weights train (see :mod:`tfft.models.modes`).
    """
    task, model_dir, _, info = model_info(cfg)
    steps = train_steps(cfg) if cfg.mode == "train" else 1
    set_precision(cfg.mixed_precision)
    with strategy_for(cfg).scope(), Progress(f"Loading the model ({cfg.model})"):
        model = task.build_model(cfg, info, model_dir)
        modes.apply(model, cfg, model_dir)
        optimizer = make_optimizer(cfg.learning_rate, cfg.weight_decay, steps, cfg.warmup_ratio, cfg.optimizer,
                                   max_grad_norm=cfg.max_grad_norm, fused=cfg.fused_ops)
        model.accumulation_steps = cfg.gradient_accumulation_steps
        model.fused_ops = cfg.fused_ops
        model.compile(optimizer=optimizer,
                      loss={name: task.loss(cfg, info) for name in model.output_names}
                      if len(model.output_names) > 1 else task.loss(cfg, info),
                      metrics=task.metrics(cfg, info), jit_compile=cfg.jit_compile)
    return model


def outputs(model: tf.keras.Model, cfg: Config, features: Features,
            label: str = "Predicting") -> dict[str, np.ndarray]:
    """Raw model outputs for every feature, in order (the task's ``model_outputs``).

    Features are batched shortest first, so a batch pads little (evaluation data is not
    length-bucketed), and the outputs are put back in the features' order. The batches done
    show as the progress of a phase named ``label``.
    """
    from tfft.tasks import get_task

    order = features.shortest_first()
    ds = _sorted_batches(cfg, features.take(order), pad_values(model.tokenizer), with_labels=False)
    with Progress(label, total=len(features), unit="sequences") as bar:
        batches = Tracked(ds, bar, size=lambda batch: len(tf.nest.flatten(batch)[0]))
        result = get_task(cfg.task).model_outputs(model, cfg, batches)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return {name: np.asarray(value)[inverse] for name, value in result.items()}


def split_outputs(model: tf.keras.Model, cfg: Config, split: str) -> dict[str, np.ndarray]:
    """Raw model outputs on a prepared split (``train``, ``validation`` or ``test``)."""
    prepared = prepare(cfg)
    if split not in prepared.features:
        raise ValueError(f"No {split} data in this config (have: {', '.join(prepared.features)}).")
    return outputs(model, cfg, prepared.features[split], label=f"Scoring {split}")


def evaluate(model: tf.keras.Model, cfg: Config, split: str = "validation") -> dict[str, float]:
    """The task's metrics for ``model`` on a prepared split (``validation`` or ``test``)."""
    prepared = prepare(cfg)
    result = split_outputs(model, cfg, split)
    return prepared.task.evaluate(result, prepared.features[split], prepared.examples[split], model.info)


def predict(model: tf.keras.Model, cfg: Config,
            examples: Optional[pd.DataFrame | Sequence[str]] = None) -> list[dict[str, Any]]:
    """Predictions, one dict per example.

    Args:
        model: A model from :func:`build_model` (trained or not).
        cfg: The run config.
        examples: Texts, a table of examples, or None for the config's ``text`` / ``predict_file``.
    """
    from tfft.tasks import get_task

    task = get_task(cfg.task)
    if examples is None:
        examples = task.predict_examples(cfg)
    elif not isinstance(examples, pd.DataFrame):
        examples = pd.DataFrame({"text": list(examples)})
    features = featurize(cfg, task, examples, model.tokenizer, model.info)
    return task.postprocess(outputs(model, cfg, features), features, examples, model.info)


def export(model: tf.keras.Model, cfg: Config) -> str:
    """Exports ``model`` as the next version under ``<export_dir>/<export_name>/``; returns the path.

    LoRA updates are merged into the base weights first (see :func:`tfft.models.modes.merge_lora`).
    """
    from tfft.tasks import get_task

    modes.merge_lora(model)
    with Progress("Exporting", reports=True):
        return export_model(model, get_task(cfg.task), cfg.export_dir, cfg.export_name,
                            serving_device=cfg.serving_device)
