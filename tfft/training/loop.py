"""The training loop: one ``fit`` per epoch over that epoch's fixed batch order, so a run can
stop at any step (checkpoint, signal, crash) and resume exactly where it stopped.

Every epoch's order is fixed by (seed, epoch) (see ``tfft.training.batches.epoch_dataset``), so the
batches of an epoch are the same in every process; resuming at batch ``b`` of epoch ``e``
rebuilds epoch ``e``'s batches and skips the first ``b``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import tensorflow as tf

from tfft.training.callbacks import EpochProgress
from tfft.training.checkpoints import CheckpointCallback, RunState, settle
from tfft.training.signals import StopSignals


def make_deterministic(seed: int) -> None:
    """Seeds Python, NumPy and TensorFlow from ``seed`` and makes TensorFlow ops deterministic.

    Called before the model is built, so every initialisation (a new task head too) follows
    ``seed``; two runs on the same hardware then give bit-identical weights.
    """
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def fit(model: tf.keras.Model, cfg: Any, keeper: Any, epoch_data: Callable[[int, int], tf.data.Dataset],
        epoch_batches: int, val_ds: Optional[tf.data.Dataset], resume: bool,
        callbacks: Sequence[tf.keras.callbacks.Callback] = ()) -> dict[str, Any]:
    """Trains ``model`` for the rest of ``cfg.epochs``, checkpointing into ``<output_dir>/checkpoints``.

    Args:
        model: The compiled model.
        cfg: The run config (epochs, save_steps, keep_checkpoints, output_dir).
        keeper: The best-epoch tracker (``restore_at_end=False``); its best weights are
            given to the model when training ends.
        epoch_data: ``epoch_data(epoch, skip)``: that epoch's training batches less the first ``skip``.
        epoch_batches: Batches in one epoch.
        val_ds: Validation batches for Keras' ``val_loss``, or None.
        resume: Continue from the latest checkpoint.
        callbacks: More callbacks, after the tracker (they see its ``val_<metric>``) and the checkpoint.

    Returns:
        ``history`` (per-epoch logs, restored epochs included), ``steps`` (optimizer steps
        of the whole run) and ``resumed_from`` (the step resumed from, or None).

    Raises:
        TrainingInterrupted: SIGTERM / SIGINT arrived (a checkpoint was saved first).
        NonFiniteLoss: the loss or the weights became NaN / infinite.
    """
    keeper.set_model(model)
    state = RunState(model, keeper, cfg)
    epoch, skip = state.restore() if resume else (0, 0)
    resumed_from = state.step if resume else None
    if resume:
        print(f"Resuming from {state.manager.latest_checkpoint}: step {resumed_from}, epoch {epoch + 1}"
              f"{f', batch {skip + 1}' if skip else ''}.")
    with StopSignals() as signals:
        saver = CheckpointCallback(state, cfg.save_steps, epoch_batches, signals)
        try:
            while epoch < cfg.epochs and not keeper.out_of_patience:
                saver.start_epoch(epoch, skip)
                with EpochProgress(cfg.epochs, epoch_batches - skip, val_ds) as shown:
                    model.fit(epoch_data(epoch, skip), validation_data=val_ds, initial_epoch=epoch,
                              epochs=epoch + 1, verbose=0, callbacks=[keeper, saver, *callbacks, shown])
                epoch, skip = epoch + 1, 0
        except BaseException:
            settle()  # a stopped run leaves its last checkpoint whole for the rerun
            raise
    keeper.restore_best()
    return {"history": state.history, "steps": state.step, "resumed_from": resumed_from}
