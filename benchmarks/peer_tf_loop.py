"""The plain TensorFlow user's run: a hand-written ``tf.GradientTape`` loop on the same MiniLM.

``python -m benchmarks.peer_tf_loop SPEC`` runs in tfft's own environment (TensorFlow 2.21,
tf-keras, the transformers TF classes) without importing tfft: what a user writes who needs
no CLI, about 40 lines. The same head as tfft's (the mean of the token states, then a dense
layer: the checkpoint's sentence-transformers pooling), the same AdamW settings with a
linear warmup then linear decay, batches shuffled each epoch and padded to their longest
text (no length buckets), one ``tf.function`` train step (``reduce_retracing``: after a
second width it traces once more for any width). It saves its weights and stops: no
baseline, no export.
"""

from __future__ import annotations

import os

from benchmarks.peer_common import EpochClock, read_rows, report, spec


def main() -> None:
    os.environ["TF_USE_LEGACY_KERAS"] = "1"  # the transformers TF classes need Keras 2 (tf-keras)
    import numpy as np
    import tensorflow as tf
    from safetensors.numpy import load_file
    from transformers import AutoConfig, AutoTokenizer, TFAutoModel
    from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model

    s = spec()
    tf.keras.utils.set_random_seed(s["seed"])
    texts, labels = read_rows(s["train_file"])
    test_texts, test_labels = read_rows(s["test_file"])
    tokenizer = AutoTokenizer.from_pretrained(s["model_dir"])
    # TFAutoModel.from_pretrained fails on a safetensors-only checkpoint in transformers 4.57
    # ("'safe_open' object is not iterable"): the user's workaround reads the file with numpy
    encoder = TFAutoModel.from_config(AutoConfig.from_pretrained(s["model_dir"]))
    encoder(encoder.dummy_inputs, training=False)
    load_pytorch_state_dict_in_tf2_model(encoder, load_file(os.path.join(s["model_dir"], "model.safetensors")),
                                         allow_missing_keys=True)
    head = tf.keras.layers.Dense(2)
    steps = -(-len(texts) // s["batch"]) * s["epochs"]
    warmup = max(1, int(steps * s["warmup_ratio"]))
    optimizer = tf.keras.optimizers.AdamW(learning_rate=s["learning_rate"], weight_decay=s["weight_decay"])
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def rate(step: int) -> float:  # linear warmup, then linear decay to 0 at the last step
        return s["learning_rate"] * min(step / warmup, max(0.0, (steps - step) / max(1, steps - warmup)))

    def logits(batch: dict, training: bool) -> tf.Tensor:
        states = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                         training=training).last_hidden_state
        mask = tf.cast(batch["attention_mask"], states.dtype)[..., None]
        return head(tf.reduce_sum(states * mask, 1) / tf.maximum(tf.reduce_sum(mask, 1), 1.0))

    @tf.function(reduce_retracing=True)
    def train_step(batch: dict, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = loss_fn(y, logits(batch, training=True))
        variables = encoder.trainable_variables + head.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def encode(chunk: list[str]) -> dict:
        return dict(tokenizer(chunk, truncation=True, max_length=s["max_length"], padding=True, return_tensors="tf"))

    clock, rng = EpochClock(), np.random.default_rng(s["seed"])
    for _ in range(s["epochs"]):
        order = rng.permutation(len(texts))
        clock.begin()
        for start in range(0, len(texts), s["batch"]):
            rows = order[start:start + s["batch"]]
            optimizer.learning_rate.assign(rate(int(optimizer.iterations.numpy())))
            train_step(encode([texts[i] for i in rows]), tf.constant([labels[i] for i in rows]))
            clock.batch_end()
        clock.epoch_end()
    predicted = np.concatenate([np.argmax(logits(encode(test_texts[i:i + 4 * s["batch"]]), False), -1)
                                for i in range(0, len(test_texts), 4 * s["batch"])])
    accuracy = float(np.mean(predicted == np.array(test_labels)))
    encoder.save_pretrained(os.path.join(s["out"], "encoder"))  # the user keeps the trained model
    np.savez(os.path.join(s["out"], "head.npz"), *head.get_weights())
    report(sum(clock.seconds), len(texts) * s["epochs"], accuracy, epoch_seconds=clock.seconds)


if __name__ == "__main__":
    main()
