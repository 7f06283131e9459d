"""LoRA: low-rank updates ``x @ A @ B * alpha / rank`` added to chosen Dense projections.

``B`` starts at zero, so the model at step 0 is the pretrained one. :func:`merge` folds the
updates into the kernels (``W + A @ B * alpha / rank``) and removes them, leaving a plain
Hugging Face model that ``save_pretrained`` and the SavedModel export write as usual.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import tensorflow as tf

from tfft.errors import TfftError
from tfft.models.families import FAMILIES, family_of
from tfft.models.layers import dense_layers, intercept, release

#: The query and value projections of each family (:mod:`tfft.models.families`), for models of other types.
DEFAULT_TARGETS = tuple(dict.fromkeys(f.lora_targets for f in FAMILIES.values()))


class LoraUpdate(tf.keras.layers.Layer):
    """The low-rank update of one Dense layer; ``key`` is the layer's path in the model."""

    def __init__(self, key: str, in_dim: int, out_dim: int, rank: int, alpha: float, dropout: float,
                 seed: int) -> None:
        super().__init__(name=key.replace("/", "__") + "__lora")
        self.key, self.rank, self.scale = key, rank, alpha / rank
        bound = 1.0 / math.sqrt(in_dim)  # as PEFT's kaiming_uniform(a=sqrt(5)) on A
        self.a = self.add_weight(name=f"{key}/lora_A", shape=(in_dim, rank),
                                 initializer=tf.keras.initializers.RandomUniform(-bound, bound, seed=seed))
        self.b = self.add_weight(name=f"{key}/lora_B", shape=(rank, out_dim), initializer="zeros")
        self.dropout = tf.keras.layers.Dropout(dropout, seed=seed) if dropout else None

    def call(self, inputs: tf.Tensor, training: Any = None) -> tf.Tensor:
        x = self.dropout(inputs, training=training) if self.dropout is not None else inputs
        low = tf.tensordot(x, self.a, axes=1)
        return tf.tensordot(low, self.b, axes=1) * tf.cast(self.scale, low.dtype)

    def delta(self) -> tf.Tensor:
        """The update as a full ``[in, out]`` kernel increment."""
        return tf.matmul(self.a, self.b) * self.scale


def default_targets(hf_model: Any) -> tuple[str, ...]:
    """The query/value projection names this model's family uses (else the first known pair
    its Dense layers have; empty if none)."""
    family = family_of(hf_model)
    if family is not None:
        return family.lora_targets
    names = {path.rsplit("/", 1)[-1] for path in dense_layers(hf_model)}
    for pair in DEFAULT_TARGETS:
        if set(pair) <= names:
            return pair
    return ()


def add(hf_model: Any, targets: Sequence[str], rank: int, alpha: float, dropout: float,
        seed: int) -> list[LoraUpdate]:
    """Adds a :class:`LoraUpdate` to every Dense layer named one of ``targets`` (default: query, value).

    Raises:
        TfftError: no Dense layer has one of the names (the message lists the names there are).
    """
    layers = dense_layers(hf_model)
    targets = tuple(targets) or default_targets(hf_model)
    chosen = {path: layer for path, layer in layers.items() if path.rsplit("/", 1)[-1] in targets}
    if not chosen:
        names = sorted({path.rsplit("/", 1)[-1] for path in layers})
        raise TfftError(f"--lora_targets={','.join(targets) or '(default)'} matches no Dense layer of "
                        f"{type(hf_model).__name__}; its Dense layers are named: {', '.join(names)}. "
                        "Pass --lora_targets with some of these names.")
    updates = []
    for i, (path, dense) in enumerate(sorted(chosen.items())):
        in_dim, out_dim = dense.kernel.shape
        update = LoraUpdate(path, int(in_dim), int(out_dim), rank, alpha, dropout, seed=seed + i)
        intercept(dense, lambda inputs, output, u=update: output + tf.cast(u(inputs), output.dtype))
        object.__setattr__(update, "target", dense)  # a reference, not a tracked sublayer
        updates.append(update)
    return updates


def merge(updates: Sequence[LoraUpdate]) -> None:
    """Folds each update into its layer's kernel and detaches it (B is zeroed, so a graph
    traced before the merge still computes the same outputs)."""
    for update in updates:
        update.target.kernel.assign_add(tf.cast(update.delta(), update.target.kernel.dtype))
        update.b.assign(tf.zeros_like(update.b))
        release(update.target)
