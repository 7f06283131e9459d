"""Training a head on cached features of a frozen backbone (``--cache_features``), for every
family whose head :func:`tfft.models.pooling.sentence_head` splits off (:mod:`tfft.models.families`).

With ``--finetune=frozen`` the backbone's output for a text never changes, so it is
computed once per split; every epoch then trains only the head layers on those vectors.
The head model is built from the very layer objects of the full model, so the trained
head weights are already in the full model: evaluation, save and export are unchanged.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional, Sequence

import numpy as np
import tensorflow as tf

from tfft.data.pipeline import prefetched
from tfft.progress import Progress, Tracked, known
from tfft.training.callbacks import EpochProgress


def fit_head(model: Any, cfg: Any, keeper: Any, train_ds: tf.data.Dataset,
             validation_data: Optional[tf.data.Dataset],
             score: Optional[Callable[[dict[str, np.ndarray]], dict[str, float]]] = None,
             validation_order: Optional[np.ndarray] = None,
             callbacks: Sequence[tf.keras.callbacks.Callback] = ()) -> dict[str, Any]:
    """Trains ``model``'s head on cached backbone features for ``cfg.epochs``.

    ``keeper`` (the best-epoch tracker) sees the head's epochs and restores the best one at
    the end. With ``score`` (the task's metrics of outputs in feature order) and
    ``validation_order`` (the feature index of each example of ``validation_data``), the
    keeper scores the head on the cached validation features instead of running the whole
    model each epoch: 40 epochs then cost one backbone pass, not forty. Returns what
    :func:`tfft.training.loop.fit` returns: ``history``, ``steps`` and ``resumed_from``
    (always None: a cached run is short and starts over). ``callbacks`` run after ``keeper``.
    """
    from tfft.data.batching import BatchPlan
    from tfft.tasks import get_task
    from tfft.training.strategy import strategy_for

    plan = BatchPlan.of(cfg, strategy_for(cfg).num_replicas_in_sync)

    extract, head_layers = head_split(model.hf_model, model.info.extras.get("pooling"))
    start = time.perf_counter()
    train_x, train_y = cached_arrays(extract, train_ds)
    train = batched(train_x, train_y, plan.train_batch, shuffle_seed=cfg.seed)  # one update per batch
    val = None
    if validation_data is not None:
        val_x, val_y = cached_arrays(extract, validation_data)
        val = batched(val_x, val_y, plan.eval_batch)
    print(f"Cached backbone features of {'train and validation' if val is not None else 'train'} "
          f"in {time.perf_counter() - start:.1f} s; the head trains on them")
    with strategy_for(cfg).scope():
        head = head_model(model, head_layers, int(train_x.shape[-1]))
        head.compile(optimizer=model.optimizer, loss=model.loss, metrics=get_task(cfg.task).metrics(cfg, model.info))
    if val is not None and score is not None and validation_order is not None:
        inverse = np.argsort(validation_order)
        keeper.evaluate = lambda: score({"logits": head.predict(val, verbose=0)[inverse]})
    with EpochProgress(cfg.epochs, validation_data=val) as shown:
        history = head.fit(train, validation_data=val, epochs=cfg.epochs, verbose=0,
                           callbacks=[keeper, *callbacks, shown])
    keeper.restore_best()
    steps = int(head.optimizer.iterations.numpy())
    return {"history": {k: [float(v) for v in vs] for k, vs in history.history.items()}, "steps": steps,
            "resumed_from": None}


def head_split(hf_model: Any, pooling: Optional[str] = None) -> tuple[Callable[[dict[str, tf.Tensor]], tf.Tensor], list[Any]]:
    """The backbone as ``inputs -> [batch, dim]`` features (the vector ``pooling`` picks, see
    :mod:`tfft.models.pooling`; default: the model's own), and the head layers that read them.

    Raises:
        TfftError: the model's head is not a known layout (see :mod:`tfft.models.families`).
    """
    from tfft.models import pooling as pooling_lib

    head = pooling_lib.sentence_head(hf_model)
    pooling = pooling or head.native

    @tf.function(reduce_retracing=True)
    def extract(inputs: dict[str, tf.Tensor]) -> tf.Tensor:
        outputs = head.main(**inputs, training=False)
        return tf.cast(pooling_lib.pool(outputs, inputs["attention_mask"], pooling), tf.float32)

    return extract, list(head.layers)


def cached_arrays(extract: Callable[..., tf.Tensor], dataset: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Runs ``extract`` over a dataset of ``(inputs, labels)`` once (its progress shown as a
    phase): the features and labels, in order."""
    features, labels = [], []
    with Progress("Backbone features", total=known(int(dataset.cardinality())), unit="batches") as bar:
        for x, y in Tracked(dataset, bar):
            features.append(extract(x).numpy())
            labels.append(y.numpy())
    return np.concatenate(features), np.concatenate(labels)


def batched(features: np.ndarray, labels: np.ndarray, batch: int,
            shuffle_seed: Optional[int] = None) -> tf.data.Dataset:
    """Batches of ``(features, labels)`` from memory, reshuffled every epoch when seeded."""
    data = tf.data.Dataset.from_tensor_slices((features, labels))
    if shuffle_seed is not None:
        data = data.shuffle(len(data), seed=shuffle_seed, reshuffle_each_iteration=True)
    return prefetched(data.batch(batch))


def cached_dataset(extract: Callable[..., tf.Tensor], dataset: tf.data.Dataset, batch: int,
                   shuffle_seed: Optional[int] = None) -> tf.data.Dataset:
    """Runs ``extract`` over ``dataset`` once; batches of ``(features, labels)`` from memory."""
    return batched(*cached_arrays(extract, dataset), batch, shuffle_seed)


def head_model(model: Any, layers: list[Any], dim: int) -> tf.keras.Model:
    """``[batch, dim]`` features -> ``logits`` through ``model``'s own head layers; what
    ``model`` keeps fixed (a classifier an MLP head replaced) stays fixed here too."""
    from tfft.models.wrap import TaskModel

    inputs = tf.keras.Input(shape=(dim,), dtype=tf.float32, name="features")
    x = inputs
    for layer in layers:
        x = layer(x)
    logits = tf.keras.layers.Activation("linear", dtype="float32", name="logits")(x)
    head = TaskModel(inputs, logits, hf_model=model.hf_model, info=model.info, tokenizer=model.tokenizer,
                     name="cached_head")
    head.freeze(model.non_trainable_weights)
    return head
