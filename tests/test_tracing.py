"""What tfft traces: scoring traces the model once for every batch shape, and the Hugging
Face layers of graph-clean families are traced without AutoGraph's source rewriting."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfft.training.build import build_model


def _batch(size: int, width: int, seed: int) -> dict[str, tf.Tensor]:
    ids = np.random.default_rng(seed).integers(5, 60, size=(size, width)).astype(np.int32)
    mask = np.ones_like(ids)
    mask[0, width // 2:] = 0  # one padded row
    return {"input_ids": tf.constant(ids), "attention_mask": tf.constant(mask),
            "token_type_ids": tf.zeros_like(ids)}


def test_scoring_traces_once_for_every_batch_size_and_width_and_answers_as_keras(tiny_config):
    model = build_model(tiny_config())
    shapes = [(8, 5), (8, 9), (3, 12), (16, 4)]  # batch and width both change
    for seed, (size, width) in enumerate(shapes):
        batch = {k: v for k, v in _batch(size, width, seed).items() if k in model.input_names}
        ours, keras = model.predict_batch(batch), model.predict_on_batch(batch)
        assert set(ours) == set(keras)
        for name in ours:
            np.testing.assert_allclose(ours[name], keras[name], rtol=1e-5, atol=1e-5)
            assert ours[name].shape[0] == size
    assert model.__dict__["_tfft_predict"].experimental_get_tracing_count() == 1


def test_graph_clean_families_skip_autograph_and_deberta_keeps_it(tiny_config, arch_dirs):
    from tfft.models.families import FAMILIES

    assert [t for t, f in FAMILIES.items() if not f.graph_code] == ["deberta-v2"]
    for arch, plain in (("bert", True), ("roberta", True), ("deberta-v2", False)):
        model = build_model(tiny_config(model=arch_dirs[arch], max_length=16))
        hf_layers = [layer for layer in [model.hf_model, *model.hf_model.submodules]
                     if isinstance(layer, tf.keras.layers.Layer)
                     and type(layer).__module__.startswith("transformers.")]
        assert len(hf_layers) > 5, arch
        marked = [bool(getattr(layer.call, "_tfft_plain", False)) for layer in hf_layers]
        assert all(marked) if plain else not any(marked), (arch, marked)
        batch = _batch(2, 7, 0)
        batch = {k: v for k, v in batch.items() if k in model.input_names}
        batch["input_ids"] = tf.minimum(batch["input_ids"], model.hf_model.config.vocab_size - 1)
        logits = model.predict_batch(batch)["logits"]  # traces (in a graph) as written
        assert np.all(np.isfinite(logits)) and logits.shape[0] == 2

