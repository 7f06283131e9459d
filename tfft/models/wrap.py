"""A functional Keras model around a Hugging Face TF model.

Wrapping (instead of compiling the HF model itself) gives a plain Keras ``train_step``,
outputs keyed by name for Keras losses and metrics, float32 logits under mixed precision,
and one place that knows the tokenizer and task facts needed for export.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
import tensorflow as tf

from tfft.models.families import family_of
from tfft.models.fused import fuse_gelus, fuse_layer_norms, step_trace

Head = Callable[[Any, Mapping[str, tf.Tensor]], Mapping[str, tf.Tensor]]


class TaskModel(tf.keras.Model):
    """A Keras functional model that also carries its backbone, tokenizer and task facts.

    Attributes:
        hf_model: The wrapped Hugging Face TF model (``save_pretrained`` writes it).
        info: The task's :class:`tfft.tasks.TaskInfo`.
        tokenizer: The Hugging Face tokenizer the features were made with.
        accumulation_steps: Micro-batches per optimizer step (1: Keras' own train step).
        fused_ops: Train steps run the fused GELUs and LayerNorms of :mod:`tfft.models.fused`.
    """

    def __init__(self, inputs: Any, outputs: Any, *, hf_model: Any, info: Any, tokenizer: Any,
                 **kwargs: Any) -> None:
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.hf_model = hf_model
        self.info = info
        self.tokenizer = tokenizer
        self.finetune = "full"
        self.accumulation_steps = 1
        self.fused_ops = True  # --fused_ops: see tfft.models.fused
        object.__setattr__(self, "_frozen", frozenset())  # variable refs; untracked

    def freeze(self, weights: Sequence[Any]) -> None:
        """Keeps ``weights`` fixed: they leave ``trainable_weights`` (so the optimizer skips
        them) and join ``non_trainable_weights``; every other weight trains."""
        object.__setattr__(self, "_frozen", frozenset(w.ref() for w in weights))

    @property
    def trainable_weights(self) -> list[Any]:
        return [w for w in super().trainable_weights if w.ref() not in self._frozen]

    @property
    def non_trainable_weights(self) -> list[Any]:
        frozen = [w for w in super().trainable_weights if w.ref() in self._frozen]
        return super().non_trainable_weights + frozen

    def train_step(self, data: Any) -> dict[str, Any]:
        """Keras' step, or ``accumulation_steps`` micro-batches per update (``--gradient_accumulation_steps``)."""
        with step_trace(self.fused_ops):
            if self.accumulation_steps > 1:
                from tfft.training.accumulate import accumulated_train_step

                return accumulated_train_step(self, data, self.accumulation_steps)
            return super().train_step(data)

    def test_step(self, data: Any) -> dict[str, Any]:
        """Keras' step, on the model's own ops (see :meth:`predict_step`)."""
        with step_trace(False):
            return super().test_step(data)

    def predict_step(self, data: Any) -> Any:
        """Keras' step, on the model's own ops: forward alone, the fused kernels of
        :mod:`tfft.models.fused` saved nothing measurable, and every new batch shape of a
        scoring pass compiled them again (a first pass over 500 tweets: 10.9-12.5 CPU s
        fused, 8.2-8.7 unfused; later passes 4.9-5.6 and 5.1-5.9)."""
        with step_trace(False):
            return super().predict_step(data)

    def predict_batch(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """``predict_on_batch``, traced once for every batch size and width.

        Keras traces ``predict_on_batch`` per exact shape until it relaxes them (three traces
        of the whole model for batches that differ in size and width, about 1-3 s each);
        this step is traced with both dimensions unknown from the start. Over several
        replicas it is Keras' own (which splits the batch between them).
        """
        if self.distribute_strategy.num_replicas_in_sync > 1 or not isinstance(batch, Mapping):
            return self.predict_on_batch(batch)
        step = self.__dict__.get("_tfft_predict")
        if step is None:
            spec = {name: tf.TensorSpec([None] * len(value.shape), value.dtype, name=name)
                    for name, value in batch.items()}
            step = tf.function(self.predict_step, input_signature=[spec])
            object.__setattr__(self, "_tfft_predict", step)  # untracked: not part of checkpoints
        return {name: np.asarray(value) for name, value in step(dict(batch)).items()}


class Seq2SeqTaskModel(TaskModel):
    """A :class:`TaskModel` whose training and evaluation steps derive ``decoder_input_ids``
    from the labels: the labels shifted right by one, starting with the model's decoder
    start token, with the -100 label padding replaced by the pad id (teacher forcing).

    The data pipeline therefore yields only ``(input_ids, attention_mask), labels`` for
    every task, and ``fit`` / ``evaluate`` stay the plain Keras ones.
    """

    def shift_right(self, labels: tf.Tensor) -> tf.Tensor:
        """Decoder inputs for ``labels`` ``[batch, length]``."""
        config = self.hf_model.config
        labels = tf.cast(labels, tf.int32)
        start = tf.fill([tf.shape(labels)[0], 1], tf.constant(config.decoder_start_token_id, tf.int32))
        shifted = tf.concat([start, labels[:, :-1]], axis=1)
        return tf.where(shifted == -100, tf.constant(config.pad_token_id, tf.int32), shifted)

    def _with_decoder_inputs(self, data: Any) -> Any:
        x, y, sample_weight = tf.keras.utils.unpack_x_y_sample_weight(data)
        x = {**x, "decoder_input_ids": self.shift_right(y)}
        return (x, y) if sample_weight is None else (x, y, sample_weight)

    def train_step(self, data: Any) -> dict[str, Any]:
        return super().train_step(self._with_decoder_inputs(data))

    def test_step(self, data: Any) -> dict[str, Any]:
        return super().test_step(self._with_decoder_inputs(data))


def skip_autograph(hf_model: Any) -> None:
    """Calls the Hugging Face layers as written when a graph is traced, without AutoGraph.

    Their TF code is graph code already (static Python branches, ``tf`` ops for the rest),
    yet AutoGraph rewrote the source of every layer's ``call`` on first trace: about half of
    building MiniLM (3-5 s of 7-13 s on a loaded 2-core machine) and a share of every later
    trace (train step, scoring, the export's signatures). The whole model is still traced
    once per function, as before; only the source rewriting is skipped. Only families whose
    code needs no AutoGraph (:attr:`tfft.models.families.Family.graph_code`). Idempotent.
    """
    family = family_of(hf_model)
    if family is None or not family.graph_code:
        return
    for layer in [hf_model, *hf_model.submodules]:
        call = getattr(layer, "call", None)
        if (isinstance(layer, tf.keras.layers.Layer) and type(layer).__module__.startswith("transformers.")
                and call is not None and not getattr(call, "_tfft_plain", False)):
            plain = tf.autograph.experimental.do_not_convert(call)
            plain._tfft_plain = True
            layer.call = plain


def wrap(hf_model: Any, input_names: Sequence[str], output_names: Sequence[str], *,
         info: Any, tokenizer: Any, head: Optional[Head] = None, model_class: type = TaskModel,
         forward: Optional[Callable[[dict[str, Any]], Mapping[str, tf.Tensor]]] = None) -> TaskModel:
    """Functional model: int32 ``[batch, seq]`` inputs -> named float32 outputs.

    Args:
        hf_model: The Hugging Face TF model.
        input_names: Its integer inputs.
        output_names: Names of the outputs: fields of the HF model's output, or keys of
            what ``head`` returns.
        info: The task facts.
        tokenizer: The tokenizer the features are made with.
        head: Optional ``head(hf_outputs, inputs) -> {name: tensor}`` that derives the
            outputs (e.g. QA masks padding and stacks start/end logits).
        model_class: The Keras model class (seq2seq derives decoder inputs from labels).
        forward: Optional ``forward(inputs) -> outputs`` run instead of ``hf_model(inputs)``
            (a sentence head on another pooling, :func:`tfft.models.pooling.forward`).
    """
    fuse_gelus(hf_model)
    fuse_layer_norms(hf_model)
    skip_autograph(hf_model)
    inputs = {name: tf.keras.Input(shape=(None,), dtype=tf.int32, name=name) for name in input_names}
    result = (forward or hf_model)(dict(inputs))
    if head is not None:
        result = head(result, inputs)
    outputs = {name: tf.keras.layers.Activation("linear", dtype="float32", name=name)(result[name])
               for name in output_names}
    return model_class(inputs, outputs, hf_model=hf_model, info=info, tokenizer=tokenizer,
                       name=f"tfft_{info.task}")
