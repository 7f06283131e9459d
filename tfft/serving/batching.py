"""TF Serving's request batching, configured by the export.

Each export version holds ``batching_params.pbtxt``: the text form of TF Serving's
``BatchingParameters`` (``tensorflow_serving/servables/tensorflow/session_bundle_config.proto``).
The model server reads it from the SavedModel directory when started with
``--enable_batching --enable_per_model_batching_parameters``; the batch threads themselves are
one pool for every model, sized by the server-wide ``--batching_parameters_file``
(:mod:`tfft.serving.models_config` ``--batching_out`` writes one). The numbers follow TF
Serving's batching guide (``tensorflow_serving/batching/README.md``); see :func:`recipe`.

With ``pad_variable_length_inputs`` the server pads each request's ``[batch, seq]`` tensors to
the merged batch's longest with *that tensor's first value* (``batching_util.cc``:
``T pad_value(input.flat<T>()(0))``), not with the pad id: ``input_ids`` gain copies of
``[CLS]`` and ``attention_mask`` gains ones. :func:`padding_safe` therefore makes every token-id
signature ignore whatever follows each row's last ``[SEP]`` (T5: its first ``</s>``).
"""

from __future__ import annotations

import os
from typing import Any, Optional

BATCHING_FILE = "batching_params.pbtxt"
DEVICES = ("cpu", "gpu")


def recipe(device: str = "cpu", threads: Optional[int] = None) -> dict[str, Any]:
    """The batching numbers for ``device`` (``cpu`` or ``gpu``); ``threads``: the server's cores
    (default: this machine's).

    Example:
        >>> recipe("cpu", threads=2)["allowed_batch_sizes"]
        [1, 2, 4]
    """
    cores = max(1, threads or os.cpu_count() or 1)
    if device == "cpu":
        # The guide's CPU start: one batch thread per core and a timeout of 0-10 ms. Merging rows
        # of different lengths pads them all to the longest, and on CPU a batch costs about
        # rows x longest row: 32 MiniLM reviews (median 120 words, max_length 256) on 2 cores took
        # 1,081 ms as 32 calls, 1,236 ms in batches of 4, 1,561 ms of 8 and 2,254 ms as one of 32
        # (benchmarks/results/serving-batching.md). So batches stay small (4): enough to soak up
        # bursts of short requests, too few to pad much, and the wait is short (1 ms, a few
        # percent of a ~20-40 ms lone request). 4 queued batches per thread bound a request's
        # wait to ~4 batch times before the server answers UNAVAILABLE (the guide: as many as
        # threads for online serving with replicas to retry on; a single server gets slack).
        return {"max_batch_size": 4, "batch_timeout_micros": 1000, "num_batch_threads": cores,
                "max_enqueued_batches": 4 * cores, "allowed_batch_sizes": [1, 2, 4]}
    if device == "gpu":
        # One GPU runs one batch's kernels at a time: two threads overlap one batch's host work
        # (tokenizing, copies) with the other's kernels; more only queue on the device. A GPU
        # batch of 128 costs little more than one of 8, so a longer wait (10 ms) fills bigger
        # batches, and a few wide allowed sizes keep the shapes (and cuDNN/XLA plans) few.
        return {"max_batch_size": 128, "batch_timeout_micros": 10000, "num_batch_threads": min(2, cores),
                "max_enqueued_batches": 16, "allowed_batch_sizes": [8, 16, 32, 64, 128]}
    raise ValueError(f"serving device must be one of {', '.join(DEVICES)}; got {device!r}.")


def padded_inputs(signatures: dict[str, Any]) -> list[str]:
    """``signature.input`` names of the ``[batch, seq]`` integer inputs that batching pads."""
    import tensorflow as tf

    return sorted(f"{name}.{spec.name}" for name, fn in signatures.items()
                  for spec in tf.nest.flatten(fn.structured_input_signature)
                  if spec.shape.rank == 2 and spec.dtype.is_integer)


def batching_text(signatures: dict[str, Any], device: str = "cpu", threads: Optional[int] = None) -> str:
    """The ``BatchingParameters`` text for an export with ``signatures``, with comments naming them
    (no signatures: the model server's ``--batching_parameters_file``)."""
    params = recipe(device, threads)
    padded = padded_inputs(signatures) if signatures else []  # the server-wide file imports no TensorFlow
    if signatures:
        lines = [f"# TF Serving BatchingParameters for this export ({device} recipe, tfft/serving/batching.py).",
                 f"# Signatures: {', '.join(sorted(signatures))}.",
                 "# Read with --enable_batching --enable_per_model_batching_parameters; the batch threads are "
                 "sized by --batching_parameters_file."]
    else:
        lines = [f"# TF Serving --batching_parameters_file ({device} recipe, tfft/serving/batching.py): its "
                 "num_batch_threads is the pool every model shares;",
                 "# with --enable_per_model_batching_parameters each version's batching_params.pbtxt sets "
                 "the rest (a version without one is not batched)."]
    lines += [f"{key} {{ value: {params[key]} }}" for key in
              ("max_batch_size", "batch_timeout_micros", "max_enqueued_batches", "num_batch_threads")]
    lines += [f"allowed_batch_sizes: {size}" for size in params["allowed_batch_sizes"]]
    if padded:
        lines.append(f"# Padded to the merged batch's longest: {', '.join(padded)} (rows end at their last "
                     "[SEP] / first </s>).")
        lines.append("pad_variable_length_inputs: true")
    return "\n".join(lines) + "\n"


def write_batching(path: str, signatures: dict[str, Any], device: str = "cpu") -> str:
    """Writes :func:`batching_text` as ``<path>/batching_params.pbtxt``; returns the file."""
    out = os.path.join(path, BATCHING_FILE)
    with open(out, "w", encoding="utf-8") as f:
        f.write(batching_text(signatures, device))
    return out


def end_mask(input_ids: tf.Tensor, attention_mask: tf.Tensor, end_id: int, last: bool = True) -> tf.Tensor:
    """``attention_mask`` with every position after each row's end token cleared.

    The end is the row's last ``end_id`` (``last``: BERT's ``[SEP]``, two in a pair) or its first
    (T5's ``</s>``, the only one, which the padding may repeat). A row without one keeps its mask.
    """
    import tensorflow as tf

    positions = tf.range(tf.shape(input_ids)[1])[None, :]
    is_end = tf.equal(input_ids, end_id)
    if last:
        end = tf.reduce_max(tf.where(is_end, positions, -1), axis=1)
    else:
        found = tf.reduce_min(tf.where(is_end, positions, tf.int32.max), axis=1)
        end = tf.where(found == tf.int32.max, -1, found)
    keep = tf.logical_or(positions <= end[:, None], (end < 0)[:, None])
    return attention_mask * tf.cast(keep, attention_mask.dtype)


def padding_safe(fn: Any, tokenizer: Any) -> Any:
    """``fn`` (a concrete token-id signature) answering alike for a row and the row padded with any
    repeated value after its end token; ``fn`` itself when it takes no ``attention_mask`` or the
    tokenizer has no end token."""
    import tensorflow as tf

    specs = tf.nest.flatten(fn.structured_input_signature)
    names = [spec.name for spec in specs]
    bert_like = getattr(tokenizer, "cls_token_id", None) is not None
    end_id = getattr(tokenizer, "sep_token_id" if bert_like else "eos_token_id", None)
    if "input_ids" not in names or "attention_mask" not in names or end_id is None:
        return fn

    @tf.function(input_signature=[{spec.name: spec for spec in specs}])
    def serve(inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        inputs = {**inputs, "attention_mask": end_mask(inputs["input_ids"], inputs["attention_mask"],
                                                       int(end_id), last=bert_like)}
        args, kwargs = tf.nest.pack_sequence_as(fn.structured_input_signature, [inputs[n] for n in names])
        return fn(*args, **kwargs)

    return serve.get_concrete_function()
