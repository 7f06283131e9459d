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
from tfft.data.batching import BatchPlan, pad_multiple  # noqa: F401  (pad_multiple: part of the API)
from tfft.data.prepare import Prepared, featurize, load_model_context, pad_values, prepare
from tfft.models import modes
from tfft.progress import Progress, Tracked
from tfft.serving.saved_model import export_model
from tfft.tasks import TaskInfo
from tfft.training.optimizer import make_optimizer
from tfft.training.strategy import set_precision, strategy_for

def batch_plan(cfg: Config) -> BatchPlan:
    """How ``cfg`` batches its data under its strategy (:class:`tfft.data.batching.BatchPlan`)."""
    from tfft.tasks import get_task

    return BatchPlan.of(cfg, strategy_for(cfg).num_replicas_in_sync, get_task(cfg.task).plans_eval_batches)


def global_batch(cfg: Config, per_replica: int) -> int:
    """Per-replica batch times the replicas of the run's strategy."""
    return per_replica * strategy_for(cfg).num_replicas_in_sync


def train_batch(cfg: Config) -> int:
    """Examples per optimizer step: the global batch times ``gradient_accumulation_steps``."""
    return batch_plan(cfg).train_batch


def datasets(cfg: Config) -> tuple[tf.data.Dataset, Optional[tf.data.Dataset]]:
    """Training (shuffled, length-bucketed) and validation datasets of ``(inputs, labels)``."""
    prepared = prepare(cfg)
    if "train" not in prepared.features:
        raise ValueError("tfft.datasets needs training data: set train_file or dataset in the config.")
    plan = batch_plan(cfg)
    train = plan.train(prepared.features["train"], prepared.pad_values(), seed=cfg.seed, reshuffle=True)
    val = eval_dataset(cfg, prepared, prepared.features["validation"]) if "validation" in prepared.features else None
    return train, val


def epoch_dataset(cfg: Config, epoch: int, skip: int = 0) -> tf.data.Dataset:
    """The training batches of one epoch (:meth:`BatchPlan.epoch`)."""
    prepared = prepare(cfg)
    return batch_plan(cfg).epoch(prepared.features["train"], prepared.pad_values(), epoch, skip)


def eval_dataset(cfg: Config, prepared: Prepared, features: Features, with_labels: bool = True) -> tf.data.Dataset:
    """Evaluation batches of ``features``, shortest first (:meth:`BatchPlan.evaluation`)."""
    return batch_plan(cfg).evaluation(features, prepared.pad_values(), with_labels)


def eval_batch_sizes(cfg: Config, features: Features) -> Optional[np.ndarray]:
    """Planned evaluation batch sizes for ``features`` sorted shortest first (:meth:`BatchPlan.eval_sizes`)."""
    return batch_plan(cfg).eval_sizes(features)


def train_steps(cfg: Config) -> int:
    """Optimizer steps of the whole run: batches per epoch (as bucketed) times epochs."""
    return batch_plan(cfg).steps(prepare(cfg).features["train"], cfg.epochs)


def model_info(cfg: Config) -> tuple[Any, str, Any, TaskInfo]:
    """Task, model directory, tokenizer and task facts, without reading training data when it can."""
    if cfg.mode in ("train", "evaluate"):
        prepared = prepare(cfg)
        return prepared.task, prepared.model_dir, prepared.tokenizer, prepared.info
    task, model_dir, tokenizer, saved, max_length = load_model_context(cfg)
    info = TaskInfo.from_dict(saved) if saved else task.data_info(cfg, None)
    return task, model_dir, tokenizer, task.update_info(cfg, dataclasses.replace(info, max_length=max_length))


def build_model(cfg: Config, total_steps: Optional[int] = None) -> tf.keras.Model:
    """The task's Keras model, created and compiled under the run's strategy.

    Args:
        cfg: The run config; ``--finetune`` decides which weights train (see
            :mod:`tfft.models.modes`).
        total_steps: Optimizer steps the learning-rate schedule spans. Default: in train mode
            the run's (:func:`train_steps`, which prepares the training data once; it is
            memoised), else 1.
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
    ds = batch_plan(cfg).sorted_batches(features.take(order), pad_values(model.tokenizer), with_labels=False)
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


def calibrate(model: tf.keras.Model, cfg: Config) -> TaskInfo:
    """Tunes the task's decoding on validation and keeps it on ``model``, as a training run does
    after its last epoch: per-label thresholds (multi-label with ``tune_thresholds``), the
    no-answer threshold (SQuAD v2.0 with ``tune_null_threshold``); other tasks are unchanged.
    :func:`predict` and :func:`export` then use it. Returns the model's updated task facts."""
    prepared = prepare(cfg)
    if "validation" not in prepared.features:
        raise ValueError("tfft.calibrate tunes on validation data: set validation_file (or a dataset with a "
                         "validation split) in the config.")
    result = split_outputs(model, cfg, "validation")
    model.info = prepared.task.calibrate(cfg, result, prepared.features["validation"], model.info,
                                         examples=prepared.examples["validation"])
    return model.info


def reports(model: tf.keras.Model, cfg: Config, split: str = "validation") -> dict[str, Any]:
    """The task's reports on a split, by the file name a run writes them to: multi-label
    ``per_label.json`` ({label: {precision, recall, f1, support, threshold}}); QA
    ``predictions.json``, ``nbest_predictions.json`` (and v2.0 ``null_odds.json``)."""
    prepared = prepare(cfg)
    result = split_outputs(model, cfg, split)
    return prepared.task.reports(result, prepared.features[split], model.info, examples=prepared.examples[split])
