"""Houlsby bottleneck adapters and the MLP classification head.

An adapter follows the attention output projection and the feed-forward output
projection of every layer (before the residual connection and LayerNorm):
``h + up(gelu(down(h)))``. The up-projection starts at zero, so at step 0 every adapter
is the identity and the model equals the pretrained one.
"""

from __future__ import annotations

import re
from typing import Any

import tensorflow as tf

from tfft.errors import TfftError
from tfft.models.families import FAMILIES, family_of
from tfft.models.layers import dense_layers, intercept

#: Output projections of attention and feed-forward blocks, per family (see
#: :mod:`tfft.models.families`): BERT, RoBERTa, XLM-R, ELECTRA, DeBERTa-v2 (attention/output/dense,
#: output/dense), DistilBERT (attention/out_lin, ffn/lin2), ALBERT (attention/dense,
#: ffn_output), MPNet (attn/o, output/dense), T5 (SelfAttention/o, EncDecAttention/o, DenseReluDense/wo).
#: ALBERT shares one layer's weights across its layers, so each of its sites (and adapters) is
#: one per layer group, applied at every layer that reuses it.
ALL_SITES = tuple(dict.fromkeys(site for f in FAMILIES.values() for site in f.adapter_sites))
MLP_UNITS, MLP_DROPOUT = 512, 0.1


def _built_dense(scope: str, units: int, in_dim: int, seed: int, **kwargs: Any) -> tf.keras.layers.Dense:
    """A Dense layer whose variables are named ``<scope>/kernel`` and ``<scope>/bias``."""
    layer = tf.keras.layers.Dense(units, kernel_initializer=kwargs.pop("kernel_initializer", None)
                                  or tf.keras.initializers.GlorotUniform(seed=seed), **kwargs)
    with tf.name_scope(scope + "/"):  # trailing slash: this exact scope, whatever is open
        layer.build([None, in_dim])
    return layer


class Adapter(tf.keras.layers.Layer):
    """``h + up(gelu(down(h)))`` with a ``size``-unit bottleneck; ``key`` is the site's path."""

    def __init__(self, key: str, hidden: int, size: int, seed: int) -> None:
        super().__init__(name=key.replace("/", "__") + "__adapter")
        self.key = key
        self.down = _built_dense(f"{key}/adapter/down", size, hidden, seed)
        self.up = _built_dense(f"{key}/adapter/up", hidden, size, seed, kernel_initializer="zeros")

    def call(self, hidden: tf.Tensor) -> tf.Tensor:
        return hidden + self.up(tf.nn.gelu(self.down(hidden)))


def add_adapters(hf_model: Any, size: int, seed: int) -> list[Adapter]:
    """Puts an :class:`Adapter` after every attention and feed-forward output projection.

    Raises:
        TfftError: the model has none of the known output projections.
    """
    family = family_of(hf_model)
    ends = family.adapter_sites if family is not None else ALL_SITES
    pattern = re.compile("(" + "|".join(re.escape(end) for end in ends) + ")$")
    sites = {path: d for path, d in dense_layers(hf_model).items() if pattern.search(path)}
    if not sites:
        raise TfftError(f"--finetune=adapter found no attention or feed-forward output projection in "
                        f"{type(hf_model).__name__} (looked for Dense layers at *{', *'.join(ends)}; the "
                        f"{', '.join(FAMILIES)} families have them); use --finetune=lora or full.")
    adapters = []
    for i, (path, dense) in enumerate(sorted(sites.items())):
        adapter = Adapter(path, int(dense.kernel.shape[1]), size, seed=seed + i)
        intercept(dense, lambda inputs, output, a=adapter: a(output))
        adapters.append(adapter)
    return adapters


class MlpHead(tf.keras.layers.Layer):
    """A 512-unit ReLU layer with dropout 0.1, then the class scores, in place of the
    model's linear classifier (fed the same [CLS]-derived vector)."""

    def __init__(self, in_dim: int, classes: int, seed: int) -> None:
        super().__init__(name="classifier__mlp")
        self.hidden = _built_dense("classifier/mlp/hidden", MLP_UNITS, in_dim, seed, activation="relu")
        self.dropout = tf.keras.layers.Dropout(MLP_DROPOUT, seed=seed)
        self.out = _built_dense("classifier/mlp/out", classes, MLP_UNITS, seed + 1)

    def call(self, inputs: tf.Tensor, training: Any = None) -> tf.Tensor:
        return self.out(self.dropout(self.hidden(inputs), training=training))


def add_mlp_head(hf_model: Any, seed: int) -> MlpHead:
    """Replaces the outputs of ``hf_model.classifier`` (which keeps its unused weights) by an :class:`MlpHead`.

    Raises:
        TfftError: the model has no Dense ``classifier`` on a vector.
    """
    classifier = getattr(hf_model, "classifier", None)
    if not isinstance(classifier, tf.keras.layers.Dense):
        raise TfftError(f"--head=mlp needs a model with a Dense classifier on the [CLS] vector; "
                        f"{type(hf_model).__name__} has none. Use --head=linear.")
    in_dim, classes = (int(n) for n in classifier.kernel.shape)
    head = MlpHead(in_dim, classes, seed)
    intercept(classifier, lambda inputs, output: tf.cast(head(inputs), output.dtype))
    return head
