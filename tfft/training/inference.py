"""A model's raw outputs on features, in their order (the task's ``model_outputs`` over
planned evaluation batches), and predictions on new examples."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd
import tensorflow as tf

from tfft.data.batching import BatchPlan
from tfft.data.features import Features
from tfft.data.prepare import featurize, pad_values, prepare
from tfft.progress import Progress, Tracked
from tfft.tasks import get_task
from tfft.training.batches import batch_plan


def outputs(model: tf.keras.Model, cfg: Any, features: Features, label: str = "Predicting",
            plan: Optional[BatchPlan] = None) -> dict[str, np.ndarray]:
    """Raw model outputs for every feature, in order (the task's ``model_outputs``).

    Features are batched shortest first, so a batch pads little (evaluation data is not
    length-bucketed), and the outputs are put back in the features' order. The batches done
    show as the progress of a phase named ``label``.
    """
    order = features.shortest_first()
    ds = (plan or batch_plan(cfg)).sorted_batches(features.take(order), pad_values(model.tokenizer),
                                                  with_labels=False)
    with Progress(label, total=len(features), unit="sequences") as bar:
        batches = Tracked(ds, bar, size=lambda batch: len(tf.nest.flatten(batch)[0]))
        result = get_task(cfg.task).model_outputs(model, cfg, batches)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return {name: np.asarray(value)[inverse] for name, value in result.items()}


def split_outputs(model: tf.keras.Model, cfg: Any, split: str,
                  plan: Optional[BatchPlan] = None) -> dict[str, np.ndarray]:
    """Raw model outputs on a prepared split (``train``, ``validation`` or ``test``)."""
    prepared = prepare(cfg)
    if split not in prepared.features:
        raise ValueError(f"No {split} data in this config (have: {', '.join(prepared.features)}).")
    return outputs(model, cfg, prepared.features[split], label=f"Scoring {split}", plan=plan)


def predict(model: tf.keras.Model, cfg: Any,
            examples: Optional[pd.DataFrame | Sequence[str]] = None) -> list[dict[str, Any]]:
    """Predictions, one dict per example.

    Args:
        model: A model from :func:`tfft.training.build.build_model` (trained or not).
        cfg: The run config.
        examples: Texts, a table of examples, or None for the config's ``text`` / ``predict_file``.
    """
    task = get_task(cfg.task)
    if examples is None:
        examples = task.predict_examples(cfg)
    elif not isinstance(examples, pd.DataFrame):
        examples = pd.DataFrame({"text": list(examples)})
    features = featurize(cfg, task, examples, model.tokenizer, model.info)
    return task.postprocess(outputs(model, cfg, features), features, examples, model.info)
