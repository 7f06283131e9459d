"""The usual pipeline the training case compares tfft with (the Hugging Face TF tutorials'
recipe): every text tokenized and padded to ``max_length``, the NumPy dict passed to ``fit``,
tf-keras' AdamW. :mod:`benchmarks.worker` runs it in a process of its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def usual_model(spec: dict[str, Any]) -> Any:
    """The Hugging Face classifier compiled as the tutorials do, with tf-keras' AdamW."""
    import tensorflow as tf
    from transformers import TFAutoModelForSequenceClassification

    from tfft.models.loading import load_pretrained
    from tfft.training.optimizer import make_optimizer

    tf.keras.utils.set_random_seed(spec["seed"])
    model = load_pretrained(TFAutoModelForSequenceClassification, spec["model_dir"], num_labels=2)
    optimizer = make_optimizer(spec["learning_rate"], spec["weight_decay"], spec["steps"], spec["warmup_ratio"],
                               fused=False)
    model.compile(optimizer=optimizer, loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def usual_inputs(tokenizer: Any, rows: list[tuple[str, int]], max_length: int) -> tuple[dict, np.ndarray]:
    """Every text padded to ``max_length``: the NumPy dict and labels the usual pipeline fits on."""
    enc = tokenizer([t for t, _ in rows], padding="max_length", truncation=True, max_length=max_length,
                    return_tensors="np", return_token_type_ids=False)
    return dict(enc), np.array([y for _, y in rows])
