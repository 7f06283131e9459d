"""Training a head on cached features of a frozen backbone (``--cache_features``).

With ``--finetune=frozen`` the backbone's output for a text never changes, so it is
computed once per split; every epoch then trains only the head layers on those vectors.
The head model is built from the very layer objects of the full model, so the trained
head weights are already in the full model: evaluation, save and export are unchanged.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

import numpy as np
import tensorflow as tf

from tfft.data.pipeline import prefetched
from tfft.errors import TfftError
from tfft.progress import Progress, Tracked, known
from tfft.training.callbacks import EpochProgress


def fit_head(model: Any, cfg: Any, keeper: Any, train_ds: tf.data.Dataset,
             validation_data: Optional[tf.data.Dataset]) -> dict[str, Any]:
    """Trains ``model``'s head on cached backbone features for ``cfg.epochs``.

    ``keeper`` (the best-epoch tracker) sees the head's epochs and restores the best one at
    the end. Returns what :func:`tfft.training.loop.fit` returns: ``history``, ``steps``
    and ``resumed_from`` (always None: a cached run is short and starts over).
    """
    from tfft.api import global_batch, train_batch
    from tfft.tasks import get_task
    from tfft.training.strategy import strategy_for

    extract, head_layers = head_split(model.hf_model)
    start = time.perf_counter()
    train = cached_dataset(extract, train_ds, train_batch(cfg), shuffle_seed=cfg.seed)  # one update per batch
    val = None if validation_data is None else cached_dataset(extract, validation_data,
                                                              global_batch(cfg, cfg.eval_batch_size))
    print(f"Cached backbone features of {'train and validation' if val is not None else 'train'} "
          f"in {time.perf_counter() - start:.1f} s; the head trains on them")
    with strategy_for(cfg).scope():
        head = head_model(model, head_layers, int(train.element_spec[0].shape[-1]))
        head.compile(optimizer=model.optimizer, loss=model.loss, metrics=get_task(cfg.task).metrics(cfg, model.info))
    with EpochProgress(cfg.epochs, validation_data=val) as shown:
        history = head.fit(train, validation_data=val, epochs=cfg.epochs, verbose=0, callbacks=[keeper, shown])
    keeper.restore_best()
    steps = int(head.optimizer.iterations.numpy())
    return {"history": {k: [float(v) for v in vs] for k, vs in history.history.items()}, "steps": steps,
            "resumed_from": None}


def head_split(hf_model: Any) -> tuple[Callable[[dict[str, tf.Tensor]], tf.Tensor], list[Any]]:
    """The backbone as ``inputs -> [batch, dim]`` features, and the head layers that read them.

    BERT-style classifiers read the pooled [CLS] vector (dropout, classifier); DistilBERT
    reads the [CLS] hidden state (pre_classifier, dropout, classifier).

    Raises:
        TfftError: the model's head is neither of these.
    """
    main = getattr(hf_model, hf_model.base_model_prefix, None)
    if main is not None and getattr(hf_model, "pre_classifier", None) is not None:
        layers = [hf_model.pre_classifier, hf_model.dropout, hf_model.classifier]
        pick = lambda out: out[0][:, 0]  # noqa: E731  [CLS] hidden state
    elif main is not None and getattr(main, "pooler", None) is not None and hasattr(hf_model, "classifier"):
        layers = [hf_model.dropout, hf_model.classifier]
        pick = lambda out: out[1]  # noqa: E731  pooled [CLS]
    else:
        raise TfftError(f"--cache_features supports classifiers on the pooled or [CLS] vector (BERT, DistilBERT "
                        f"families); {type(hf_model).__name__} has another head. Drop --cache_features.")

    @tf.function(reduce_retracing=True)
    def extract(inputs: dict[str, tf.Tensor]) -> tf.Tensor:
        return tf.cast(pick(main(**inputs, training=False)), tf.float32)

    return extract, layers


def cached_dataset(extract: Callable[..., tf.Tensor], dataset: tf.data.Dataset, batch: int,
                   shuffle_seed: Optional[int] = None) -> tf.data.Dataset:
    """Runs ``extract`` over ``dataset`` once (its progress shown as a phase); batches of
    ``(features, labels)`` from memory."""
    features, labels = [], []
    with Progress("Backbone features", total=known(int(dataset.cardinality())), unit="batches") as bar:
        for x, y in Tracked(dataset, bar):
            features.append(extract(x).numpy())
            labels.append(y.numpy())
    data = tf.data.Dataset.from_tensor_slices((np.concatenate(features), np.concatenate(labels)))
    if shuffle_seed is not None:
        data = data.shuffle(len(data), seed=shuffle_seed, reshuffle_each_iteration=True)
    return prefetched(data.batch(batch))


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
