"""The library API a notebook uses: datasets, a compiled model, predictions, metrics, export.

A thin facade: each name is the library's (:mod:`tfft.training.batches`, ``.build``,
``.inference``, :mod:`tfft.serving.saved_model`, :mod:`tfft.data.prepare`), or a few lines
over them; the runner calls the library directly.

Example:
    >>> import tfft
    >>> cfg = tfft.Config(task="imdb", model="minilm", train_file="train.csv", epochs=2)
    >>> train_ds, val_ds = tfft.datasets(cfg)
    >>> model = tfft.build_model(cfg)
    >>> model.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs)
    >>> tfft.export(model, cfg)
"""

from __future__ import annotations

from typing import Any, Optional

from tfft import _env

_env.require_legacy_keras()
_env.import_tensorflow_quietly()
_env.quiet_libraries()

import numpy as np
import tensorflow as tf

from tfft.config import Config
from tfft.data.batching import BatchPlan, pad_multiple  # noqa: F401  (part of the API)
from tfft.data.features import Features
from tfft.data.prepare import Prepared, featurize, pad_values, prepare  # noqa: F401  (part of the API)
from tfft.serving.saved_model import export_run
from tfft.tasks import TaskInfo, get_task
from tfft.training.batches import (batch_plan, epoch_dataset, eval_dataset, global_batch,  # noqa: F401
                                   train_steps)  # (part of the API)
from tfft.training.build import build_model, model_info  # noqa: F401  (part of the API)
from tfft.training.inference import outputs, predict, split_outputs  # noqa: F401  (part of the API)


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
    val = (eval_dataset(cfg, prepared, prepared.features["validation"], plan=plan)
           if "validation" in prepared.features else None)
    return train, val


def eval_batch_sizes(cfg: Config, features: Features) -> Optional[np.ndarray]:
    """Planned evaluation batch sizes for ``features`` sorted shortest first (:meth:`BatchPlan.eval_sizes`)."""
    return batch_plan(cfg).eval_sizes(features)


def evaluate(model: tf.keras.Model, cfg: Config, split: str = "validation") -> dict[str, float]:
    """The task's metrics for ``model`` on a prepared split (``validation`` or ``test``)."""
    prepared = prepare(cfg)
    result = split_outputs(model, cfg, split)
    return prepared.task.evaluate(result, prepared.features[split], prepared.examples[split], model.info)


def export(model: tf.keras.Model, cfg: Config) -> str:
    """Exports ``model`` as the next version under ``<export_dir>/<export_name>/``; returns the path.

    LoRA updates are merged into the base weights first (see :func:`tfft.models.modes.merge_lora`).
    """
    return export_run(model, get_task(cfg.task), cfg)


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
