"""Choosing the ``tf.distribute`` strategy for a run, and who writes a multi-worker run's files."""

from __future__ import annotations

import functools
import json
import os
from typing import Optional

import tensorflow as tf

from tfft.errors import TfftError


@functools.lru_cache(maxsize=None)
def get_strategy(name: str, devices: tuple[str, ...] = (), tpu: Optional[str] = None) -> tf.distribute.Strategy:
    """The strategy for ``--strategy`` (created once per process; TF allows one of each).

    ``auto``: MirroredStrategy when more than one GPU is visible, else the default strategy.
    ``one_device``: OneDeviceStrategy on ``devices[0]`` (default: the first GPU, else the CPU).
    ``mirrored``: ``devices``, else all GPUs, else all logical CPU devices (for tests).
    ``multi_worker``: MultiWorkerMirroredStrategy, configured by ``TF_CONFIG``.
    ``tpu``: TPUStrategy on the TPU named by ``tpu`` (a name or ``grpc://`` address; none: the local TPU VM).
    """
    if name == "multi_worker":  # before anything else touches the TF runtime: it configures collectives
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        device = devices[0] if devices else (gpus[0].name if gpus else "/cpu:0")
        return tf.distribute.OneDeviceStrategy(_device(device))
    if name == "mirrored":
        chosen = [_device(d) for d in devices] or [d.name for d in gpus] or [
            d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=chosen)
    if name == "tpu":
        return _tpu_strategy(tpu)
    raise TfftError(f"--strategy must be auto, default, one_device, mirrored, multi_worker or tpu "
                    f"(received '{name}').")


def _device(spec: str) -> str:
    """``GPU:0`` -> ``/device:GPU:0``; checks that the device exists."""
    name = spec if spec.startswith("/") else f"/device:{spec.upper()}"
    known = [d.name for d in tf.config.list_logical_devices()]
    if not any(k.endswith(name.split("device:")[-1]) for k in known):
        raise TfftError(f"--devices={spec} is not a device of this machine (have: "
                        f"{', '.join(k.split('device:')[-1] for k in known)}).")
    return name


def _tpu_strategy(tpu: Optional[str]) -> tf.distribute.Strategy:
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, OSError, tf.errors.OpError) as e:  # OSError: no metadata server
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TfftError(f"--strategy=tpu found no TPU at --tpu={tpu or '(local)'} ({first}); pass --tpu=<name or "
                        "grpc://host:8470> on a machine that can reach it.") from None
    return tf.distribute.TPUStrategy(resolver)


def set_precision(mode: str) -> None:
    """Sets the global Keras dtype policy for ``--mixed_precision``.

    Under ``fp16`` Keras wraps the optimizer in a ``LossScaleOptimizer`` (dynamic loss
    scaling) when the model is compiled; tfft's task heads and losses stay float32.
    """
    policy = {"none": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}[mode]
    tf.keras.mixed_precision.set_global_policy(policy)


def is_chief() -> bool:
    """Whether this process writes the run's files: always, except a non-chief multi-worker worker.

    ``TF_CONFIG`` names this process's task; the chief is task ``chief``, or worker 0 when
    the cluster has no chief.
    """
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    task = config.get("task") or {}
    kind, index = task.get("type"), int(task.get("index", 0))
    if kind is None:
        return True
    if kind == "chief":
        return True
    return kind == "worker" and index == 0 and "chief" not in config.get("cluster", {})


def strategy_for(cfg: "object") -> tf.distribute.Strategy:
    """The strategy of a config's ``strategy``, ``devices`` and ``tpu``."""
    return get_strategy(cfg.strategy, tuple(cfg.devices), cfg.tpu)
