"""AdamW with linear warmup and linear decay: the standard BERT fine-tuning recipe."""

from __future__ import annotations

from typing import Any, Optional

import tensorflow as tf


class WarmupLinearDecay(tf.keras.optimizers.schedules.LearningRateSchedule):
    """Rises linearly from 0 to ``peak`` over ``warmup_steps``, then falls linearly to 0 at ``total_steps``.

    Example: peak 2e-5, 100 total steps, 10 warmup steps gives 1e-5 at step 5, 2e-5 at
    step 10 and 1e-5 at step 55.
    """

    def __init__(self, peak: float, total_steps: int, warmup_steps: int) -> None:
        super().__init__()
        self.peak = float(peak)
        self.total_steps = max(int(total_steps), 1)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step: Any) -> tf.Tensor:
        step = tf.cast(step, tf.float32)
        warm = self.peak * step / max(self.warmup_steps, 1)
        span = max(self.total_steps - self.warmup_steps, 1)
        decay = self.peak * tf.maximum(0.0, (self.total_steps - step) / span)
        return tf.where(step < self.warmup_steps, warm, decay)

    def get_config(self) -> dict[str, Any]:
        return {"peak": self.peak, "total_steps": self.total_steps, "warmup_steps": self.warmup_steps}


def make_optimizer(learning_rate: float, weight_decay: float, total_steps: int,
                   warmup_ratio: float, name: str = "adamw",
                   max_grad_norm: Optional[float] = None) -> tf.keras.optimizers.Optimizer:
    """AdamW (or Adafactor) over the schedule above; biases and LayerNorm weights get no weight decay.

    Adafactor keeps factored second moments (a row and a column vector per matrix instead
    of a full matrix), which is why T5 was trained with it; here it follows the same
    warmup/decay schedule as AdamW rather than its own relative step size.

    ``max_grad_norm`` clips by global norm; the optimizer applies it after gradients are
    summed across replicas, so the norm is the global batch's.
    """
    schedule = WarmupLinearDecay(learning_rate, total_steps, int(round(warmup_ratio * total_steps)))
    if name == "adafactor":
        optimizer = tf.keras.optimizers.Adafactor(learning_rate=schedule, weight_decay=weight_decay or None,
                                                  relative_step=False, global_clipnorm=max_grad_norm)
        optimizer.exclude_from_weight_decay(var_names=["LayerNorm", "layer_norm", "bias"])
        return optimizer
    optimizer = tf.keras.optimizers.AdamW(learning_rate=schedule, weight_decay=weight_decay,
                                          epsilon=1e-8, global_clipnorm=max_grad_norm)
    optimizer.exclude_from_weight_decay(var_names=["LayerNorm", "layer_norm", "bias"])
    return optimizer
