"""TF Serving batching: the export's batching_params.pbtxt, and token-id signatures that answer
alike for a row however the server pads it."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

import tfft
from conftest import export_classifier
from tfft.serving import batching


def batching_parameters_class():
    """TF Serving's ``BatchingParameters`` message, declared here from its .proto fields.

    tensorflow-serving-api ships only the client protos (``tensorflow_serving.apis`` and
    ``.config``), not ``servables/tensorflow/session_bundle_config_pb2``, so the message is
    rebuilt with the descriptor API: the same names, numbers and types as
    ``session_bundle_config.proto`` (fields 1-7), in the same package, so text-format parsing is
    exactly the server's for the fields the export writes (an unknown or misspelt field fails).
    """
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)
    proto = descriptor_pb2.FileDescriptorProto(name="session_bundle_config.proto", package="tensorflow.serving",
                                               syntax="proto3", dependency=["google/protobuf/wrappers.proto"])
    message = proto.message_type.add(name="BatchingParameters")
    F = descriptor_pb2.FieldDescriptorProto
    for number, name, kind in ((1, "max_batch_size", "Int64Value"), (2, "batch_timeout_micros", "Int64Value"),
                               (3, "max_enqueued_batches", "Int64Value"), (4, "num_batch_threads", "Int64Value"),
                               (5, "thread_pool_name", "StringValue")):
        message.field.add(name=name, number=number, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                          type_name=f".google.protobuf.{kind}")
    message.field.add(name="allowed_batch_sizes", number=6, type=F.TYPE_INT64, label=F.LABEL_REPEATED)
    message.field.add(name="pad_variable_length_inputs", number=7, type=F.TYPE_BOOL, label=F.LABEL_OPTIONAL)
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters"))


def parse_batching(text: str):
    from google.protobuf import text_format

    return text_format.Parse(text, batching_parameters_class()())


def check_servable(params) -> None:
    """TF Serving's own checks on load (``WrapSessionForBatching``) and the guide's requirements."""
    sizes = list(params.allowed_batch_sizes)
    assert sizes == sorted(set(sizes)) and sizes[-1] == params.max_batch_size.value
    assert params.num_batch_threads.value >= 1 and params.max_enqueued_batches.value >= 1
    assert params.batch_timeout_micros.value > 0


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_model_dir):
    # An untrained head's logits are ~1e-4; scaled up, a changed input shows in the probabilities.
    return export_classifier(tmp_path_factory.mktemp("batching"), tiny_model_dir, head_scale=1000.0)


@pytest.mark.slow
def test_every_version_holds_batching_parameters_that_tf_serving_parses_and_that_fit_its_signatures(exported):
    cfg, model, path = exported
    text = open(os.path.join(path, batching.BATCHING_FILE), encoding="utf-8").read()
    params = parse_batching(text)
    check_servable(params)
    assert params.num_batch_threads.value == os.cpu_count()
    assert 1000 <= params.batch_timeout_micros.value <= 5000
    assert params.pad_variable_length_inputs  # serve_ids takes [batch, seq] ids
    signatures = tf.saved_model.load(path).signatures
    assert f"Signatures: {', '.join(sorted(signatures))}." in text
    assert "serve_ids.attention_mask, serve_ids.input_ids" in text
    info = tfft.io.read_json(os.path.join(path, "assets", "tfft.json"))
    assert info["serving"]["batching"] == {"file": "batching_params.pbtxt", "device": "cpu"}


def test_the_gpu_recipe_batches_bigger_waits_longer_with_fewer_threads_and_text_only_exports_do_not_pad():
    text_only = {"serving_default": tf.function(lambda text: {"n": tf.strings.length(text)},
                                                input_signature=[tf.TensorSpec([None], tf.string, name="text")]
                                                ).get_concrete_function()}
    cpu = parse_batching(batching.batching_text(text_only, "cpu", threads=8))
    gpu = parse_batching(batching.batching_text(text_only, "gpu", threads=8))
    for params in (cpu, gpu):
        check_servable(params)
        assert not params.pad_variable_length_inputs  # strings [batch] merge without padding
    assert gpu.max_batch_size.value > cpu.max_batch_size.value
    assert gpu.batch_timeout_micros.value > cpu.batch_timeout_micros.value
    assert gpu.num_batch_threads.value < cpu.num_batch_threads.value == 8
    with pytest.raises(ValueError, match="serving device must be one of cpu, gpu; got 'tpu'"):
        batching.recipe("tpu")


def test_a_serving_device_does_not_make_a_finished_run_a_different_run(tiny_config):
    from tfft import rundir

    cfg = tiny_config()
    rundir.claim(cfg)
    assert rundir.same_run(cfg.replace(serving_device="gpu"))
    assert not rundir.same_run(cfg.replace(seed=1))


def tf_serving_pad(rows: list[np.ndarray], width: int) -> np.ndarray:
    """Pads one request's ``[batch, seq]`` tensor to ``width`` as TF Serving's batching does: with
    the tensor's first value (``batching_util.cc``: ``T pad_value(input.flat<T>()(0))``)."""
    tensor = np.stack(rows)
    return np.pad(tensor, [(0, 0), (0, width - tensor.shape[1])], constant_values=tensor.flat[0])


@pytest.mark.slow
def test_an_ids_row_padded_with_a_repeated_non_pad_value_gets_its_unpadded_prediction(exported):
    cfg, model, path = exported
    serve = tf.saved_model.load(path).signatures["serve_ids"]
    encoded = model.tokenizer(["a wonderful film", "this plot was boring and the ending was awful"])
    alone = [serve(input_ids=tf.constant([ids]), attention_mask=tf.constant([mask]))
             for ids, mask in zip(encoded["input_ids"], encoded["attention_mask"])]
    # The short request merged with a longer one: its ids padded with [CLS], its mask with 1s.
    ids = tf_serving_pad([np.asarray(encoded["input_ids"][0], np.int32)], 14)
    mask = tf_serving_pad([np.asarray(encoded["attention_mask"][0], np.int32)], 14)
    assert ids[0, -1] == model.tokenizer.cls_token_id and mask[0, -1] == 1
    padded = serve(input_ids=tf.constant(ids), attention_mask=tf.constant(mask))
    np.testing.assert_allclose(padded["probabilities"].numpy(), alone[0]["probabilities"].numpy(), atol=1e-5)
    # Padded with some other repeated token, and a correctly padded row, answer alike too.
    other = np.where(mask == 1, ids, 7)
    other[0, :len(encoded["input_ids"][0])] = encoded["input_ids"][0]
    again = serve(input_ids=tf.constant(other), attention_mask=tf.constant(np.ones_like(mask)))
    np.testing.assert_allclose(again["probabilities"].numpy(), alone[0]["probabilities"].numpy(), atol=1e-5)


def test_the_end_is_the_last_sep_of_a_pair_or_the_first_eos_however_it_is_repeated():
    ids = tf.constant([[101, 5, 102, 6, 102, 101, 101], [101, 5, 6, 7, 8, 9, 10], [3, 4, 1, 1, 1, 1, 1]])
    ones = tf.ones_like(ids)
    np.testing.assert_array_equal(batching.end_mask(ids[:2], ones[:2], 102).numpy(),
                                  [[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1]])  # no [SEP]: mask as given
    np.testing.assert_array_equal(batching.end_mask(ids[2:], ones[2:], 1, last=False).numpy(),
                                  [[1, 1, 1, 0, 0, 0, 0]])
