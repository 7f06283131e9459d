"""The learning-rate range test (``--mode=lr_find``; Smith 2015, "Cyclical Learning Rates").

A short run raises the learning rate exponentially every step, from ``MIN_LR`` to
``MAX_LR`` over ``--lr_find_steps`` steps, and records each batch's loss; it stops once the
smoothed loss passes ``DIVERGED`` times its lowest. The suggestion is the learning rate
of the smoothed loss's minimum divided by 10 (see :func:`suggest`). Nothing is
saved but ``<output_dir>/lr_find/`` (the plot and lr_find.json): no model, no checkpoint.
"""

from __future__ import annotations

import math
import os
from typing import Any, Optional

import numpy as np
import tensorflow as tf

from tfft.config import Config

MIN_LR, MAX_LR = 1e-7, 10.0
DIVERGED = 4.0  # smoothed loss above 4x its minimum: the lr is past usable
SMOOTHING = 0.9  # of the exponential moving average (bias-corrected); 0.98 needs far more steps


class ExponentialRamp(tf.keras.optimizers.schedules.LearningRateSchedule):
    """``low * (high / low) ** (step / steps)``: 1e-7 at step 0, 10 at step ``steps``."""

    def __init__(self, low: float, high: float, steps: int) -> None:
        super().__init__()
        self.low, self.high, self.steps = float(low), float(high), max(int(steps), 1)

    def __call__(self, step: Any) -> tf.Tensor:
        frac = tf.cast(step, tf.float32) / self.steps
        return self.low * tf.pow(self.high / self.low, frac)

    def get_config(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "steps": self.steps}


class _Recorder(tf.keras.callbacks.Callback):
    """Each batch's loss (from Keras' running mean) and lr; stops training on divergence."""

    def __init__(self, schedule: ExponentialRamp) -> None:
        super().__init__()
        self.schedule, self.lrs, self.losses, self.smooth = schedule, [], [], []
        self._mean, self._avg = 0.0, 0.0

    def on_train_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        mean = float((logs or {}).get("loss", math.nan))
        loss = (batch + 1) * mean - batch * self._mean  # Keras 2 logs the epoch's mean so far
        self._mean = mean
        self.lrs.append(float(self.schedule(batch)))
        self.losses.append(loss)
        self._avg = SMOOTHING * self._avg + (1 - SMOOTHING) * loss
        self.smooth.append(self._avg / (1 - SMOOTHING ** len(self.losses)))
        if not math.isfinite(loss) or self.smooth[-1] > DIVERGED * min(self.smooth):
            self.model.stop_training = True


def suggest(lrs: list[float], smooth: list[float]) -> Optional[float]:
    """The lr of the smoothed loss's minimum / 10, or None when the loss never fell.

    The minimum itself is at the edge of divergence; a tenth of it trains stably. The
    steepest fall, the other usual rule, lands next to the minimum when a model sits on a
    plateau first, as a freshly initialised head does (the tiny test model: flat to 1e-2,
    falling only from 0.04, diverging past 0.1 in a 100-step ramp).
    """
    values = np.asarray(smooth, dtype=float)
    finite = np.isfinite(values)
    if len(values) < 3 or not finite.any():
        return None
    low = int(np.nanargmin(np.where(finite, values, np.nan)))
    if low == 0 or values[low] >= values[0]:
        return None
    return float(lrs[low]) / 10


def lr_find(cfg: Config) -> dict[str, Any]:
    """Runs the range test on ``cfg``'s model and training data; returns lrs, losses and the suggestion.

    Example:
        >>> tfft.lr_find(cfg)["suggested_lr"]
    """
    from tfft import io
    from tfft.training.batches import epoch_dataset
    from tfft.training.build import build_model
    from tfft.training.optimizer import make_optimizer
    from tfft.training.strategy import strategy_for

    train_cfg = cfg.replace(mode="train", epochs=1)
    schedule = ExponentialRamp(MIN_LR, MAX_LR, cfg.lr_find_steps)
    model = build_model(train_cfg)
    with strategy_for(train_cfg).scope():  # the same model, loss and settings; only the lr follows the ramp
        model.compile(optimizer=make_optimizer(MIN_LR, cfg.weight_decay, 1, 0.0, cfg.optimizer,
                                               max_grad_norm=cfg.max_grad_norm, fused=cfg.fused_ops,
                                               schedule=schedule),
                      loss=model.loss, jit_compile=cfg.jit_compile)
    batches = epoch_dataset(train_cfg, 0).repeat()
    recorder = _Recorder(schedule)
    print(f"Learning-rate range test: {MIN_LR:g} to {MAX_LR:g} over at most {cfg.lr_find_steps} steps")
    model.fit(batches, epochs=1, steps_per_epoch=cfg.lr_find_steps, verbose=0, callbacks=[recorder])
    tf.keras.backend.clear_session()
    out = os.path.join(cfg.output_dir, "lr_find")
    os.makedirs(out, exist_ok=True)
    suggested = suggest(recorder.lrs, recorder.smooth)
    results = {"lrs": recorder.lrs, "losses": recorder.losses, "smoothed": recorder.smooth,
               "suggested_lr": suggested, "steps": len(recorder.lrs),
               "plot": _plot(recorder, suggested, os.path.join(out, "lr_find.png"))}
    io.write_json(os.path.join(out, "lr_find.json"), results)
    shown = "none (the loss never fell)" if suggested is None else f"{suggested:.2g}"
    print(f"Suggested learning rate: {shown} (after {len(recorder.lrs)} steps; plot: {results['plot']}); "
          f"pass --learning_rate={shown if suggested else '...'}")
    return results


def _plot(recorder: _Recorder, suggested: Optional[float], path: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(recorder.lrs, recorder.losses, color="0.7", linewidth=1, label="batch loss")
    ax.plot(recorder.lrs, recorder.smooth, color="C0", label="smoothed")
    if suggested:
        ax.axvline(suggested, color="C3", linestyle="--", label=f"suggested {suggested:.2g}")
    finite = [v for v in recorder.smooth if math.isfinite(v)]
    batches = [v for v in recorder.losses if math.isfinite(v)]
    if finite:  # the batch losses' dips in view, the divergence cut at the stopping point
        ax.set_ylim(max(min(batches + finite) * 0.9, 0.0), min(max(finite), DIVERGED * min(finite)) * 1.1)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
