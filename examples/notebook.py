"""The library API as a notebook uses it: datasets, a compiled model, plain Keras fit, export.

The same steps with plots and the export called on raw strings: examples/quickstart.ipynb
(and emotions, qa, t5, modes .ipynb beside it).

Run from the repository root after `make install`:
    .venv/bin/python examples/notebook.py
"""

import tfft  # first, so tf.keras is Keras 2

cfg = tfft.Config(
    task="imdb",
    model="minilm",
    train_file="examples/data/imdb_sample/train.csv",
    validation_file="examples/data/imdb_sample/validation.csv",
    test_file="examples/data/imdb_sample/test.csv",
    label_names=("negative", "positive"),
    max_length=128,
    epochs=2,
    learning_rate=5e-5,
    export_dir="runs/notebook/saved_models",
    export_name="notebook",
)

train_ds, val_ds = tfft.datasets(cfg)
model = tfft.build_model(cfg)
print("untrained test metrics:", tfft.evaluate(model, cfg, "test"))
model.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs)
print("fine-tuned test metrics:", tfft.evaluate(model, cfg, "test"))
for p in tfft.predict(model, cfg, ["What a lovely, moving film.", "A dreadful waste of time."]):
    print(p["label"], round(p["probability"], 3))
print("exported to", tfft.export(model, cfg))
