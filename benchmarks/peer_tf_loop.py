"""The plain TensorFlow user's run: a hand-written ``tf.GradientTape`` loop on the same MiniLM.

``python -m benchmarks.peer_tf_loop SPEC`` runs in tfft's own environment (TensorFlow 2.21,
tf-keras, the transformers TF classes) without importing tfft: what a user writes who needs
no CLI. Texts are tokenized once (no padding), ``tf.data`` shuffles them each epoch and pads
each batch to its longest text (``padded_batch``: the one-line idiom, and cheaper than
``max_length`` on short texts; no length buckets), one ``tf.function`` train step
(``reduce_retracing``: after a second width it traces once more for any width), AdamW with
a linear warmup then linear decay (``transformers.create_optimizer``: LayerNorm and biases
not decayed). The head is tfft's: the mean of the token states, dropout 0.1, then a dense
layer (the checkpoint's sentence-transformers pooling). It scores the held-out set, saves
the trained model (``save_pretrained`` and the head's weights) and stops: no untrained
baseline, no export. A QA spec (``task: squad``) runs :mod:`benchmarks.peer_tf_loop_qa`.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable

from benchmarks.peer_common import EpochClock, read_rows, report, spec


def load_model(auto_class: Any, model_dir: str) -> Any:
    """``auto_class`` (a transformers TF class) with the checkpoint's weights.

    ``from_pretrained`` fails on a safetensors-only checkpoint in transformers 4.57
    (``'safe_open' object is not iterable``) and ``from_pt`` needs PyTorch: the user's
    workaround reads the file with numpy and converts it in memory.
    """
    from safetensors.numpy import load_file
    from transformers import AutoConfig
    from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model

    model = auto_class.from_config(AutoConfig.from_pretrained(model_dir))
    model(model.dummy_inputs, training=False)  # create the variables
    load_pytorch_state_dict_in_tf2_model(model, load_file(os.path.join(model_dir, "model.safetensors")),
                                         allow_missing_keys=True, skip_logger_warnings=True)
    return model


def batches(rows: list[dict[str, list[int]]], batch: int, seed: int, shuffle: bool) -> Any:
    """A ``tf.data`` pipeline over tokenized rows (each a dict of int lists, the same keys),
    each batch padded with 0 to its longest row."""
    import tensorflow as tf

    keys = list(rows[0])
    signature = {k: tf.TensorSpec([None] if isinstance(rows[0][k], list) else [], tf.int32) for k in keys}
    ds = tf.data.Dataset.from_generator(lambda: iter(rows), output_signature=signature)
    if shuffle:
        ds = ds.shuffle(len(rows), seed=seed, reshuffle_each_iteration=True)
    return ds.padded_batch(batch).prefetch(tf.data.AUTOTUNE)


def train(s: dict[str, Any], variables: list[Any], loss: Callable[[dict], Any], dataset: Any,
          steps: int) -> EpochClock:
    """``s["epochs"]`` epochs of AdamW with a linear warmup and decay over ``steps`` batches;
    returns the clock of the epochs' pure training seconds."""
    import tensorflow as tf
    from transformers import create_optimizer

    optimizer, _ = create_optimizer(s["learning_rate"], steps, int(steps * s["warmup_ratio"]),
                                    weight_decay_rate=s["weight_decay"])

    @tf.function(reduce_retracing=True)
    def train_step(batch: dict) -> tf.Tensor:
        with tf.GradientTape() as tape:
            value = loss(batch)
        optimizer.apply_gradients(zip(tape.gradient(value, variables), variables))
        return value

    clock = EpochClock()
    for _ in range(s["epochs"]):
        clock.begin()
        for batch in dataset:
            train_step(batch)
            clock.batch_end()
        clock.epoch_end()
    return clock


def steps_of(count: int, s: dict[str, Any]) -> int:
    """Optimizer steps of ``s["epochs"]`` epochs over ``count`` rows."""
    return -(-count // s["batch"]) * s["epochs"]


def classify(s: dict[str, Any]) -> None:
    """The classification run: train, score the held-out set, save, report."""
    import numpy as np
    import tensorflow as tf
    from transformers import AutoTokenizer, TFAutoModel

    tf.keras.utils.set_random_seed(s["seed"])
    texts, labels = read_rows(s["train_file"])
    test_texts, test_labels = read_rows(s["test_file"])
    tokenizer = AutoTokenizer.from_pretrained(s["model_dir"])

    def encode(chunk: list[str], ys: Iterable[int]) -> list[dict]:
        enc = tokenizer(chunk, truncation=True, max_length=s["max_length"])
        return [{"input_ids": i, "attention_mask": m, "label": y}
                for i, m, y in zip(enc["input_ids"], enc["attention_mask"], ys)]

    encoder = load_model(TFAutoModel, s["model_dir"])
    dropout, head = tf.keras.layers.Dropout(0.1), tf.keras.layers.Dense(2)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def logits(batch: dict, training: bool) -> tf.Tensor:
        states = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                         training=training).last_hidden_state
        mask = tf.cast(batch["attention_mask"], states.dtype)[..., None]
        mean = tf.reduce_sum(states * mask, 1) / tf.maximum(tf.reduce_sum(mask, 1), 1.0)
        return head(dropout(mean, training=training))

    logits({"input_ids": tf.ones([1, 2], tf.int32), "attention_mask": tf.ones([1, 2], tf.int32)}, False)
    clock = train(s, encoder.trainable_variables + head.trainable_variables,
                  lambda b: loss_fn(b["label"], logits(b, training=True)),
                  batches(encode(texts, labels), s["batch"], s["seed"], shuffle=True), steps_of(len(texts), s))
    predicted = np.concatenate([np.argmax(logits(b, False), -1) for b in
                                batches(encode(test_texts, test_labels), 4 * s["batch"], s["seed"], shuffle=False)])
    accuracy = float(np.mean(predicted == np.array(test_labels)))
    encoder.save_pretrained(os.path.join(s["out"], "encoder"))  # the user keeps the trained model
    np.savez(os.path.join(s["out"], "head.npz"), *head.get_weights())
    report(sum(clock.seconds), len(texts) * s["epochs"], accuracy, epoch_seconds=clock.seconds)


def main() -> None:
    os.environ["TF_USE_LEGACY_KERAS"] = "1"  # the transformers TF classes need Keras 2 (tf-keras)
    s = spec()
    if s.get("task", "classification") == "classification":
        classify(s)
    else:
        from benchmarks.peer_tf_loop_qa import answer

        answer(s)


if __name__ == "__main__":
    main()
