"""Fused exact GELU and LayerNorm for the Keras steps of BERT-family models.

Hugging Face's ``gelu`` (exact, erf-based; ``tf.nn.gelu``) runs as five element-wise
TensorFlow kernels forward and about ten backward, each a full pass over a
``batch x seq x intermediate`` tensor, the largest activation of the layer. BERT's
LayerNorm (epsilon 1e-12, below the 1.001e-5 that Keras' fused kernel accepts) runs as
about eight forward and fifteen backward. While a train, test or predict step is traced,
tfft computes each as one XLA-compiled kernel forward and one backward (analytic
derivatives; GELU's is ``cdf(x) + x * pdf(x)``): same values within float32 rounding
(about 1e-6). Exports keep the model's own ops, so SavedModels contain no XLA clusters.

Only float32 activations of at least ``MIN_FEATURES`` features are fused: XLA compiles a
kernel pair per activation shape it meets (about 0.15 s for GELU and 0.25 s for LayerNorm
at MiniLM's sizes, once per batch width in a run), which a tiny test model's step would
not earn back. Mixed-precision runs keep the original ops.

For the same reason a run fuses them only when it trains at least ``STEPS_PER_WIDTH``
steps per padded width (:func:`earns_its_compiles`). On 1,000 tweet-like texts (2 epochs
of 35 steps over ~15 widths) the compiles cost ~3 s of the first epoch and the fused
steps saved ~1 s an epoch; on 300 SQuAD questions (seq 256) they saved nothing measurable.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterator

import tensorflow as tf

_STATE = threading.local()  # replicas of a tf.distribute strategy trace in their own threads
_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327
_ANY_FLOAT32 = [tf.TensorSpec(None, tf.float32)]
MIN_FEATURES = 256  # MiniLM: 384 hidden, 1536 intermediate; the test suite's BERT: 32 and 64
STEPS_PER_WIDTH = 10  # a width's compiles (~0.4 s) against ~30 ms saved a step (MiniLM, batch 32 x seq ~22)


def earns_its_compiles(steps: int, widths: int) -> bool:
    """Whether ``steps`` train steps over about ``widths`` padded batch widths repay the fused
    GELU / LayerNorm kernels' compiles (one pair per width)."""
    return steps >= STEPS_PER_WIDTH * max(widths, 1)


@tf.function(jit_compile=True, input_signature=_ANY_FLOAT32, autograph=False)
def _gelu_forward(x: tf.Tensor) -> tf.Tensor:
    return x * (0.5 * tf.math.erfc(x * -_SQRT_HALF))


@tf.function(jit_compile=True, input_signature=_ANY_FLOAT32 * 2, autograph=False)
def _gelu_backward(x: tf.Tensor, dy: tf.Tensor) -> tf.Tensor:
    cdf = 0.5 * tf.math.erfc(x * -_SQRT_HALF)
    pdf = tf.exp(-0.5 * tf.square(x)) * _INV_SQRT_2PI
    return dy * (cdf + x * pdf)


@tf.custom_gradient
def fused_gelu(x: tf.Tensor) -> Any:
    """Exact GELU ``x * Phi(x)`` of a float32 tensor as one XLA kernel each way."""
    return _gelu_forward(x), lambda dy: _gelu_backward(x, dy)


@contextlib.contextmanager
def step_trace(enabled: bool = True) -> Iterator[None]:
    """Within this context (entered by Keras' train step; scoring runs the model's own ops), swapped
    activations and LayerNorms are fused (``enabled=False``: they are not)."""
    previous = getattr(_STATE, "active", False)
    _STATE.active = enabled
    try:
        yield
    finally:
        _STATE.active = previous


def _fuses(x: tf.Tensor) -> bool:
    """Inside a Keras step, for a float32 tensor with enough features to earn its compile."""
    features = x.shape[-1] if x.shape.rank else None
    return getattr(_STATE, "active", False) and x.dtype == tf.float32 and (features or 0) >= MIN_FEATURES


class TrainingGelu:
    """Stands in for a layer's exact GELU: fused inside Keras steps, the original elsewhere."""

    def __init__(self, original: Callable[[tf.Tensor], tf.Tensor]) -> None:
        self.original = original

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        if _fuses(x):
            return fused_gelu(x)
        return self.original(x)


def _exact_gelus() -> tuple[Any, ...]:
    from transformers.activations_tf import ACT2FN

    return tuple({id(fn): fn for fn in (ACT2FN["gelu"], tf.nn.gelu, tf.keras.activations.gelu)}.values())


def _activation_attributes() -> tuple[str, ...]:
    """Where each family keeps its feed-forward activation (BERT, RoBERTa, ELECTRA, MPNet,
    DeBERTa-v2: ``intermediate_act_fn``; DistilBERT, ALBERT: ``activation``)."""
    from tfft.models.families import FAMILIES

    return tuple(dict.fromkeys(f.activation for f in FAMILIES.values()))


def fuse_gelus(hf_model: Any) -> int:
    """Swaps every exact-GELU feed-forward activation of ``hf_model`` for a
    :class:`TrainingGelu`; returns how many were swapped (0 for models without one)."""
    exact, swapped, names = _exact_gelus(), 0, _activation_attributes()
    for layer in hf_model.submodules:
        for name in names:
            fn = getattr(layer, name, None)
            if fn is not None and any(fn is e for e in exact):
                object.__setattr__(layer, name, TrainingGelu(fn))  # not a weight: keep Keras tracking out
                swapped += 1
    return swapped


def _normalise(x: tf.Tensor, epsilon: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    centred = x - tf.reduce_mean(x, -1, keepdims=True)
    inverse = tf.math.rsqrt(tf.reduce_mean(tf.square(centred), -1, keepdims=True) + epsilon)
    return centred * inverse, inverse


_MATRIX, _VECTOR, _SCALAR = tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None], tf.float32), \
    tf.TensorSpec([], tf.float32)


@tf.function(jit_compile=True, input_signature=[_MATRIX, _VECTOR, _VECTOR, _SCALAR], autograph=False)
def _layer_norm_forward(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: tf.Tensor) -> tf.Tensor:
    return _normalise(x, epsilon)[0] * gamma + beta


@tf.function(jit_compile=True, input_signature=[_MATRIX, _VECTOR, _SCALAR, _MATRIX], autograph=False)
def _layer_norm_backward(x: tf.Tensor, gamma: tf.Tensor, epsilon: tf.Tensor, dy: tf.Tensor) -> tuple:
    normed, inverse = _normalise(x, epsilon)
    dnormed = dy * gamma
    dx = inverse * (dnormed - tf.reduce_mean(dnormed, -1, keepdims=True)
                    - normed * tf.reduce_mean(dnormed * normed, -1, keepdims=True))
    return dx, tf.reduce_sum(dy * normed, 0), tf.reduce_sum(dy, 0)


@tf.custom_gradient
def fused_layer_norm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: tf.Tensor) -> Any:
    """LayerNorm over the last axis of a ``[rows, features]`` float32 matrix, one XLA kernel each way."""

    def grad(dy: tf.Tensor) -> tuple:
        return (*_layer_norm_backward(x, gamma, epsilon, dy), None)

    return _layer_norm_forward(x, gamma, beta, epsilon), grad


class TrainingLayerNorm:
    """Stands in for a Keras LayerNormalization's ``call``: fused inside Keras steps for
    float32 inputs normalised over the last axis with scale and centre, the original elsewhere."""

    def __init__(self, layer: tf.keras.layers.LayerNormalization) -> None:
        self.layer = layer
        self.original = layer.call

    def __call__(self, inputs: tf.Tensor, *args: Any, **kwargs: Any) -> tf.Tensor:
        layer = self.layer
        rank = inputs.shape.rank
        if (_fuses(inputs) and layer.gamma is not None and layer.beta is not None
                and layer.gamma.dtype == tf.float32 and rank and list(layer.axis) == [rank - 1] and not args):
            matrix = tf.reshape(inputs, [-1, tf.shape(inputs)[-1]])
            out = fused_layer_norm(matrix, tf.convert_to_tensor(layer.gamma), tf.convert_to_tensor(layer.beta),
                                   tf.constant(layer.epsilon, tf.float32))
            return tf.reshape(out, tf.shape(inputs))
        return self.original(inputs, *args, **kwargs)


def fuse_layer_norms(hf_model: Any) -> int:
    """Puts a :class:`TrainingLayerNorm` in front of every Keras LayerNormalization of
    ``hf_model``; returns how many."""
    swapped = 0
    for layer in hf_model.submodules:
        if isinstance(layer, tf.keras.layers.LayerNormalization) and not isinstance(layer.call, TrainingLayerNorm):
            object.__setattr__(layer, "call", TrainingLayerNorm(layer))  # a plain attribute, not tracked
            swapped += 1
    return swapped
