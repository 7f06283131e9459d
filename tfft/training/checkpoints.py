"""Training state on disk: ``<output_dir>/checkpoints/ckpt-<step>``, and resuming from it.

One checkpoint holds everything a run needs to continue as if never stopped: the model
weights, the optimizer's step counter and slots (so the learning-rate schedule continues
from the restored step), the data position (epoch and batches done in it), the best-epoch
tracking of :class:`~tfft.training.callbacks.EvaluateAndKeepBest` with the best epoch's
weights, and the per-epoch history.

TensorFlow writes a checkpoint's data under a temporary name and merges it into
``ckpt-<step>.index`` / ``.data-*`` when complete; the ``checkpoint`` file naming the latest
one is replaced atomically after that. A crash mid-save therefore leaves the previous
checkpoint as the latest.

On one replica the writes are asynchronous: a save copies the variables (a fraction of a
second) and a background thread writes them (~1 s for MiniLM with AdamW's slots) while
training, scoring and the export go on. The ``checkpoint`` file names a checkpoint only once
its write is complete; :func:`settle` waits for the writes in flight, and every path that
reads, reports or deletes checkpoints (the end of a run, an interrupt, a NaN stop, any error
out of :func:`tfft.dispatch.run`) calls it first.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from typing import Any, Optional

import tensorflow as tf

from tfft import rundir
from tfft.errors import TfftError

CHECKPOINT_DIR = "checkpoints"
_IN_FLIGHT: list["RunState"] = []  # states whose last asynchronous write may still be running


def settle() -> None:
    """Waits until every asynchronous checkpoint write of this process is on disk, then ends
    their writer threads (a later save starts a new one)."""
    while _IN_FLIGHT:
        _IN_FLIGHT.pop().close()


class TrainingInterrupted(TfftError):
    """Training stopped on a signal after saving a checkpoint; ``exit_code`` is 128 + the signal."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


class NonFiniteLoss(TfftError):
    """The loss (or the weights) became NaN or infinite; nothing after the last good checkpoint was saved."""


def checkpoint_dir(cfg: Any) -> str:
    """Where a run's checkpoints go."""
    return os.path.join(cfg.output_dir, CHECKPOINT_DIR)


def latest_checkpoint(cfg: Any) -> Optional[str]:
    """The newest complete checkpoint of ``cfg.output_dir``, or None."""
    settle()
    path = checkpoint_dir(cfg)
    return tf.train.latest_checkpoint(path) if os.path.isdir(path) else None


def plan_resume(cfg: Any) -> tuple[bool, bool]:
    """Applies ``--resume`` to what ``cfg.output_dir`` holds; returns (resume, start_over).

    ``start_over``: the run dir holds checkpoints that ``--resume=never`` with
    ``--overwrite_output_dir`` moves aside, or a completed run of this config (which only
    ``--overwrite_output_dir`` trains again).

    Raises:
        TfftError: a completed run or, with ``never``, checkpoints exist (either without
            ``--overwrite_output_dir``), or ``force`` and there is no checkpoint of this config.
    """
    if rundir.finished(cfg) is not None:  # tfft.run reports it as complete (without --overwrite_output_dir)
        if not cfg.overwrite_output_dir:
            raise TfftError(f"--output_dir '{cfg.output_dir}' holds a completed run of this config; pass "
                            "--overwrite_output_dir to train it again.")
        return False, True
    latest = latest_checkpoint(cfg)
    same = latest is not None and rundir.same_run(cfg)
    if cfg.resume == "force" and not same:
        why = "no checkpoint" if latest is None else "checkpoints of a different config"
        raise TfftError(f"--resume=force but --output_dir '{cfg.output_dir}' has {why}; pass the output_dir "
                        "and flags of the run to continue, or --resume=auto to start when there is none.")
    if cfg.resume == "never" and latest is not None:
        if not cfg.overwrite_output_dir:
            raise TfftError(f"--resume=never but --output_dir '{cfg.output_dir}' holds checkpoints ({latest}); "
                            "pass --resume=auto to continue that run, --overwrite_output_dir to move it aside, "
                            "or another --output_dir.")
        return False, True
    return same, False


def at_end(cfg: Any) -> Optional[dict[str, Any]]:
    """What a completed run keeps of its checkpoints, as ``results.json`` records it:
    ``{"dir", "kept": [names] (empty: deleted), "bytes"}``; None when it wrote none."""
    settle()
    directory = checkpoint_dir(cfg)
    state = tf.train.get_checkpoint_state(directory) if os.path.isdir(directory) else None
    if state is None:
        return None
    size = sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(directory) for name in names)
    kept = [os.path.basename(p) for p in state.all_model_checkpoint_paths] if cfg.keep_checkpoints_at_end else []
    return {"dir": directory, "kept": kept, "bytes": size}


def drop(cfg: Any, record: Optional[dict[str, Any]]) -> None:
    """Deletes ``<output_dir>/checkpoints/`` when ``record`` (:func:`at_end`) says a completed
    run keeps none. Call it only after ``model/``, the export and ``results.json`` are written:
    until then a rerun must be able to resume."""
    if record is not None and not record.get("kept"):
        shutil.rmtree(checkpoint_dir(cfg), ignore_errors=True)


class RunState:
    """The checkpointed state of one training run (see the module docstring).

    Args:
        model: The compiled model; its optimizer's slots are created here so that a
            restore fills them at once.
        keeper: The best-epoch tracker whose state is saved with every checkpoint.
        cfg: The run config (output_dir, keep_checkpoints).
    """

    def __init__(self, model: tf.keras.Model, keeper: Any, cfg: Any) -> None:
        self.model, self.keeper = model, keeper
        self.directory = checkpoint_dir(cfg)
        with model.distribute_strategy.scope():  # slots live beside their (maybe mirrored) weights
            model.optimizer.build(model.trainable_variables)
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
            self.batch = tf.Variable(0, dtype=tf.int64, trainable=False)
            self.best = [tf.Variable(w, trainable=False) for w in model.get_weights()]
        # a plain local variable: multi-worker strategies cannot broadcast a string's initial value
        self.extra = tf.Variable("{}", dtype=tf.string, trainable=False)
        self.checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer, epoch=self.epoch,
                                              batch=self.batch, extra=self.extra, best=self.best)
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory,
                                                  max_to_keep=cfg.keep_checkpoints, checkpoint_name="ckpt")
        # one replica: write in the background (a distribution strategy's variables are saved in place)
        strategy = model.distribute_strategy
        single = (strategy.num_replicas_in_sync == 1
                  and not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy))
        self.options = tf.train.CheckpointOptions(enable_async=True) if single else None
        self.history: dict[str, list[float]] = {}
        self._best_copied: Optional[int] = None

    @property
    def step(self) -> int:
        """Optimizer steps taken so far (restored ones included)."""
        return int(self.model.optimizer.iterations.numpy())

    def restore(self) -> tuple[int, int]:
        """Loads the latest checkpoint; returns (epoch, batches already done in it)."""
        settle()
        path = self.manager.latest_checkpoint
        self.checkpoint.restore(path).assert_existing_objects_matched()
        extra = json.loads(self.extra.numpy().decode("utf-8"))
        self.history = {k: list(v) for k, v in extra.get("history", {}).items()}
        keeper = extra.get("keeper")
        if keeper is not None:
            self.keeper.load_state(keeper, [v.numpy() for v in self.best])
            self._best_copied = self.keeper.best_epoch
        return int(self.epoch.numpy()), int(self.batch.numpy())

    def record_epoch(self, logs: dict[str, Any]) -> None:
        """Adds one epoch's logs to the history."""
        for name, value in logs.items():
            self.history.setdefault(name, []).append(float(value))

    def save(self, epoch: int, batch: int) -> str:
        """Writes a checkpoint at the current step, positioned at ``batch`` of ``epoch``.

        Raises:
            NonFiniteLoss: a weight is NaN or infinite (the bad state is not written).
        """
        if not all(bool(tf.reduce_all(tf.math.is_finite(v))) for v in self.model.trainable_variables):
            raise self.non_finite("the weights")
        if self.keeper.best_weights is not None and self._best_copied != self.keeper.best_epoch:
            for variable, value in zip(self.best, self.keeper.best_weights):
                variable.assign(value)
            self._best_copied = self.keeper.best_epoch
        self.epoch.assign(epoch)
        self.batch.assign(batch)
        self.extra.assign(json.dumps({"keeper": self.keeper.state(), "history": self.history}))
        path = self.manager.save(checkpoint_number=self.step, options=self.options)
        if self.options is not None and self not in _IN_FLIGHT:
            _IN_FLIGHT.append(self)
        return path

    def close(self) -> None:
        """Waits for this state's asynchronous write and ends its writer thread.

        TensorFlow's writer keeps a host copy of every variable and is referenced from an
        ``atexit`` hook until the process ends; released here, a notebook's or a study's
        many runs do not each keep a copy of their model and optimizer.
        """
        if self.options is None:
            return
        self.checkpoint.sync()
        writer = getattr(self.checkpoint, "_async_checkpointer_impl", None)
        if writer is not None:
            import atexit

            writer._join_async_save_thread()
            atexit.unregister(writer._join_async_save_thread)
            self.checkpoint._async_checkpointer_impl = None

    def non_finite(self, what: str) -> NonFiniteLoss:
        """The error for NaN/inf in ``what`` at the current step, naming the checkpoint that is kept."""
        settle()
        latest = self.manager.latest_checkpoint
        kept = (f"the last good checkpoint, {latest}, is kept and a rerun of the same command resumes from it"
                if latest else "no checkpoint had been written yet")
        return NonFiniteLoss(f"Training stopped: {what} became NaN or infinite at step {self.step}; {kept}. "
                             "Lower --learning_rate (or check the training data) if it happens again.")

    def interrupted(self, signum: int, path: str) -> TrainingInterrupted:
        """The error for a run stopped by signal ``signum`` after saving ``path``."""
        import signal

        settle()  # the message names a checkpoint that is on disk
        name = signal.Signals(signum).name
        return TrainingInterrupted(f"Training interrupted by {name} at step {self.step}; saved checkpoint "
                                   f"{path}. Run the same command again to resume from it.", signum)


class CheckpointCallback(tf.keras.callbacks.Callback):
    """Saves :class:`RunState` every ``save_steps`` steps and after every epoch; stops on a
    NaN/inf loss (before saving anything) and, after saving, on a caught signal.

    It must come after the best-epoch tracker in the callback list, so that an epoch's
    checkpoint includes that epoch's scores. Call :meth:`start_epoch` before each ``fit``.
    """

    def __init__(self, state: RunState, save_steps: int, epoch_batches: int, signals: Any) -> None:
        super().__init__()
        self.state, self.save_steps, self.epoch_batches, self.signals = state, save_steps, epoch_batches, signals
        self.epoch, self.skip = 0, 0

    def start_epoch(self, epoch: int, skip: int) -> None:
        """The next ``fit`` runs ``epoch`` from its batch ``skip``."""
        self.epoch, self.skip = epoch, skip

    def on_train_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise self.state.non_finite(f"the loss ({float(loss)})")
        done = self.skip + batch + 1
        if done >= self.epoch_batches:
            return  # the epoch's end saves, after the epoch is scored
        if self.signals.signum is not None:
            raise self.state.interrupted(self.signals.signum, self.state.save(self.epoch, done))
        if self.save_steps and self.state.step % self.save_steps == 0:
            self.state.save(self.epoch, done)

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self.state.record_epoch(logs or {})
        path = self.state.save(epoch + 1, 0)
        if self.signals.signum is not None:
            raise self.state.interrupted(self.signals.signum, path)
