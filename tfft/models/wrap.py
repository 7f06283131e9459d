"""A functional Keras model around a Hugging Face TF model.

Wrapping (instead of compiling the HF model itself) gives a plain Keras ``train_step``,
outputs keyed by name for Keras losses and metrics, float32 logits under mixed precision,
and one place that knows the tokenizer and task facts needed for export.
"""

from __future__ import annotations

from typing import Any, Sequence

import tensorflow as tf


class TaskModel(tf.keras.Model):
    """A Keras functional model that also carries its backbone, tokenizer and task facts.

    Attributes:
        hf_model: The wrapped Hugging Face TF model (``save_pretrained`` writes it).
        info: The task's :class:`tfft.tasks.TaskInfo`.
        tokenizer: The Hugging Face tokenizer the features were made with.
    """

    def __init__(self, inputs: Any, outputs: Any, *, hf_model: Any, info: Any, tokenizer: Any,
                 **kwargs: Any) -> None:
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.hf_model = hf_model
        self.info = info
        self.tokenizer = tokenizer


def wrap(hf_model: Any, input_names: Sequence[str], output_names: Sequence[str], *,
         info: Any, tokenizer: Any) -> TaskModel:
    """Functional model: int32 ``[batch, seq]`` inputs -> named float32 outputs of ``hf_model``."""
    inputs = {name: tf.keras.Input(shape=(None,), dtype=tf.int32, name=name) for name in input_names}
    result = hf_model(dict(inputs))
    outputs = {name: tf.keras.layers.Activation("linear", dtype="float32", name=name)(result[name])
               for name in output_names}
    return TaskModel(inputs, outputs, hf_model=hf_model, info=info, tokenizer=tokenizer,
                     name=f"tfft_{info.task}")
