"""Choosing the ``tf.distribute`` strategy for a run."""

from __future__ import annotations

import functools

import tensorflow as tf

from tfft.errors import TfftError


@functools.lru_cache(maxsize=None)
def get_strategy(name: str) -> tf.distribute.Strategy:
    """The strategy for ``--strategy`` (created once per process; TF allows one of each).

    ``auto``: MirroredStrategy when more than one GPU is visible, else the default strategy.
    ``mirrored``: all GPUs, or all logical CPU devices when there is no GPU (for tests).
    ``multi_worker``: MultiWorkerMirroredStrategy, configured by ``TF_CONFIG``.
    """
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise TfftError(f"--strategy must be auto, default, mirrored or multi_worker (received '{name}').")


def set_precision(mode: str) -> None:
    """Sets the global Keras dtype policy for ``--mixed_precision``."""
    policy = {"none": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}[mode]
    tf.keras.mixed_precision.set_global_policy(policy)
