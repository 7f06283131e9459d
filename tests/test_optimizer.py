"""tfft's fused AdamW makes the updates tf-keras' AdamW makes, on one device and two replicas."""

import numpy as np
import tensorflow as tf

from tfft.data.features import Features, Ragged
from tfft.data.pipeline import make_dataset
from tfft.training.optimizer import AdamW, make_optimizer
from tfft.training.strategy import get_strategy


def _train(optimizer_class, strategy, steps: int = 6) -> list[np.ndarray]:
    """A few AdamW steps of an embedding (sparse gradients, repeated ids) + dense model."""
    with strategy.scope():
        tf.keras.utils.set_random_seed(3)
        model = tf.keras.Sequential([tf.keras.layers.Embedding(50, 8, name="embeddings"),
                                     tf.keras.layers.GlobalAveragePooling1D(),
                                     tf.keras.layers.Dense(3, name="classifier"),
                                     tf.keras.layers.LayerNormalization(name="LayerNorm")])
        model.build((None, 7))
        optimizer = optimizer_class(learning_rate=0.05, weight_decay=0.1, epsilon=1e-8)
        optimizer.exclude_from_weight_decay(var_names=["LayerNorm", "bias"])
        loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                reduction=tf.keras.losses.Reduction.SUM)
    rng = np.random.default_rng(0)
    ids = tf.constant(rng.integers(0, 12, size=(8, 7)), tf.int32)  # 12 of 50 rows: repeats in every batch
    labels = tf.constant(rng.integers(0, 3, size=(8,)), tf.int32)

    @tf.function
    def step(x, y):
        def replica(x, y):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True)) / 8.0
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
        strategy.run(replica, args=(x, y))

    dataset = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors((ids, labels)).repeat(steps))
    for x, y in dataset:
        step(x, y)
    return [w.numpy() for w in model.weights]


def test_fused_adamw_matches_tf_keras_adamw_with_sparse_gradients_and_decay():
    # (under MirroredStrategy: test_training's fused-vs-plain test, on the suite's tiny BERT)
    strategy = get_strategy("default")
    ours, reference = _train(AdamW, strategy), _train(tf.keras.optimizers.AdamW, strategy)
    initial = _train(AdamW, strategy, steps=0)
    for mine, theirs, start in zip(ours, reference, initial):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
        assert not np.array_equal(mine, start)  # every weight moved: the comparison means something


def test_make_optimizer_builds_the_fused_adamw():
    assert isinstance(make_optimizer(1e-3, 0.01, total_steps=10, warmup_ratio=0.1), AdamW)


def test_batches_come_without_the_tf_data_autotuner():
    """With the autotuner on, an iterator read while the cores were busy takes up to ~10 s to
    destroy, once per Keras fit (tfft fits one epoch at a time)."""
    rows = Ragged.from_lists([[2, 5, 3], [2, 6, 7, 3]])
    features = Features(inputs={"input_ids": rows}, labels=np.array([0, 1]))
    ds = make_dataset(features, batch_size=2, pad_values={"input_ids": 0}, shuffle=True, seed=0)
    assert ds.options().autotune.enabled is False
    assert [x["input_ids"].shape.as_list() for x, _ in ds] == [[2, 4]]
