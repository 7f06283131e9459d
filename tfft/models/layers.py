"""Finding and intercepting the Dense layers inside a Hugging Face TF model.

Hugging Face TF layers are Keras layers whose variables are named by their path in the
model (``tf_bert_for_sequence_classification/bert/encoder/layer_._0/attention/self/query/kernel:0``).
The path without the model's own (build-order dependent) name is a stable key: the same
in every process, so weights saved by one run load into another.
"""

from __future__ import annotations

from typing import Any, Callable

import tensorflow as tf


def weight_key(hf_model: Any, variable: Any) -> str:
    """``variable``'s path without the model name and ``:0``: ``bert/encoder/layer_._0/.../kernel``."""
    name = variable.name.split(":")[0]
    prefix = hf_model.name + "/"
    return name[len(prefix):] if name.startswith(prefix) else name


def dense_layers(hf_model: Any) -> dict[str, tf.keras.layers.Dense]:
    """Every built Dense layer of ``hf_model`` by path (``bert/encoder/layer_._0/attention/self/query``)."""
    found = {}
    for layer in hf_model.submodules:
        if isinstance(layer, tf.keras.layers.Dense) and getattr(layer, "kernel", None) is not None:
            found[weight_key(hf_model, layer.kernel).rsplit("/", 1)[0]] = layer
    return found


def intercept(dense: tf.keras.layers.Dense, after: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]) -> None:
    """Makes ``dense`` return ``after(inputs, dense_output)`` instead of its output.

    The instance's ``call`` is replaced before the model is compiled or traced, so every
    later call (training, evaluation, export tracing) goes through ``after``; the original
    weights and their names are untouched.
    """
    original = dense.call

    def call(inputs: tf.Tensor, *args: Any, **kwargs: Any) -> tf.Tensor:
        return after(inputs, original(inputs, *args, **kwargs))

    dense.call = call


def release(dense: tf.keras.layers.Dense) -> None:
    """Undoes :func:`intercept`: ``dense`` computes its plain output again."""
    if "call" in vars(dense):
        del dense.call
