"""The KerasHub user's run: ``BertTextClassifier`` on the same MiniLM, data and settings (Keras 3).

Runs in the ``kerashub`` benchmark venv (:mod:`benchmarks.peer_venvs`), not with tfft:
``python -m benchmarks.peer_kerashub SPEC``. KerasHub has no MiniLM preset offline; its
``from_preset`` reads the packaged Hugging Face directory (config.json + model.safetensors)
through its own BERT converter, which maps the weights into a ``BertBackbone`` by name.
Its preprocessor pads every example to ``sequence_length`` (``max_length``), as its guides do;
the data is a shuffled ``tf.data`` of raw strings, as ``text_dataset_from_directory`` gives.
AdamW with a linear warmup then linear decay, like the Trainer's and tfft's default schedule.
"""

from __future__ import annotations

import os

from benchmarks.peer_common import EpochClock, read_rows, report, spec


def main() -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import keras_hub
    import numpy as np
    import tensorflow as tf

    s = spec()
    keras.utils.set_random_seed(s["seed"])
    texts, labels = read_rows(s["train_file"])
    test_texts, test_labels = read_rows(s["test_file"])
    steps = -(-len(texts) // s["batch"]) * s["epochs"]
    warmup = max(1, int(steps * s["warmup_ratio"]))

    @keras.saving.register_keras_serializable(package="peers")
    class WarmupLinear(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):  # noqa: ANN001
            step = keras.ops.cast(step, "float32")
            up = step / warmup
            down = keras.ops.maximum(0.0, (steps - step) / max(1, steps - warmup))
            return s["learning_rate"] * keras.ops.minimum(up, down)

        def get_config(self) -> dict:
            return {}

    preprocessor = keras_hub.models.BertTextClassifierPreprocessor.from_preset(
        s["model_dir"], sequence_length=s["max_length"])
    model = keras_hub.models.BertTextClassifier.from_preset(s["model_dir"], num_classes=2, preprocessor=preprocessor)
    model.compile(optimizer=keras.optimizers.AdamW(WarmupLinear(), weight_decay=s["weight_decay"]),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["sparse_categorical_accuracy"])
    clock = EpochClock()
    timing = keras.callbacks.LambdaCallback(on_epoch_begin=lambda *_, **__: clock.begin(),
                                            on_train_batch_end=lambda *_, **__: clock.batch_end(),
                                            on_epoch_end=lambda *_, **__: clock.epoch_end())
    # as KerasHub's guides feed it (text_dataset_from_directory): shuffled each epoch, batched, raw strings
    train = tf.data.Dataset.from_tensor_slices((texts, labels)).shuffle(len(texts), seed=s["seed"]).batch(s["batch"])
    model.fit(train, epochs=s["epochs"], callbacks=[timing], verbose=0)
    logits = model.predict(np.array(test_texts), batch_size=s["batch"] * 4, verbose=0)
    accuracy = float(np.mean(np.argmax(logits, -1) == np.array(test_labels)))
    model.save(os.path.join(s["out"], "model.keras"))  # the user keeps the trained model, as tfft does
    report(sum(clock.seconds), len(texts) * s["epochs"], accuracy, keras=keras.__version__,
           keras_hub=keras_hub.__version__, epoch_seconds=clock.seconds)


if __name__ == "__main__":
    main()
