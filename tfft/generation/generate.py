"""Compiled generation with a Hugging Face TF seq2seq model: in process and in a SavedModel.

One ``tf.function(jit_compile=True)`` wraps ``hf_model.generate`` with tfft's XLA-safe
n-gram blocking. XLA compiles once per input shape, so callers pad batches to a fixed
number of rows and to a multiple of ``pad_to_multiple_of`` tokens; on a tiny T5 on CPU a
compile takes ~5 s and a compiled beam search of 8 rows then takes milliseconds.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import tensorflow as tf
from transformers.generation.tf_logits_process import TFLogitsProcessorList

from tfft.generation.ngram import NoRepeatNGramLogitsProcessor

#: Rows per compiled call inside an exported SavedModel. Hugging Face's beam search needs a
#: static batch size, so the serving function cuts any request into chunks of this many
#: rows (the last one padded); 8 keeps the waste of a one-row request small.
SERVING_CHUNK = 8


@dataclasses.dataclass(frozen=True)
class GenerationOptions:
    """How to decode. ``num_beams=1`` is greedy search.

    Attributes:
        num_beams: Beams of beam search (1: greedy).
        max_new_tokens: Most tokens generated after the decoder start token.
        no_repeat_ngram_size: Block repeated n-grams of this size (0: off).
        length_penalty: Exponent of the length normalisation of beam scores.
        early_stopping: Stop a beam search once ``num_beams`` hypotheses are finished.
    """

    num_beams: int = 1
    max_new_tokens: int = 32
    no_repeat_ngram_size: int = 0
    length_penalty: float = 1.0
    early_stopping: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "GenerationOptions":
        """Builds options from a dict, ignoring unknown keys."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def generate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``generate`` (n-gram blocking goes in as a processor)."""
        kwargs: dict[str, Any] = {"num_beams": self.num_beams, "max_new_tokens": self.max_new_tokens,
                                  "no_repeat_ngram_size": 0, "do_sample": False}
        if self.num_beams > 1:  # HF warns that these are unused by greedy search
            kwargs.update(length_penalty=self.length_penalty, early_stopping=self.early_stopping)
        return kwargs

    def logits_processor(self) -> TFLogitsProcessorList:
        """tfft's processors: the XLA-compatible n-gram blocker when it is on."""
        if self.no_repeat_ngram_size > 0:
            return TFLogitsProcessorList([NoRepeatNGramLogitsProcessor(self.no_repeat_ngram_size)])
        return TFLogitsProcessorList()


def generate_ids(hf_model: Any, options: GenerationOptions, input_ids: tf.Tensor,
                 attention_mask: tf.Tensor) -> tf.Tensor:
    """``hf_model.generate`` with ``options``; int32 ``[batch, 1 + max_new_tokens]`` under XLA
    (padded with the pad id after the end), ``[batch, generated length]`` eagerly."""
    return hf_model.generate(input_ids, attention_mask=attention_mask,
                             logits_processor=options.logits_processor(), **options.generate_kwargs())


def compiled_generator(hf_model: Any, options: GenerationOptions) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """An XLA-compiled ``(input_ids, attention_mask) -> ids`` (retraced per input shape)."""

    @tf.function(jit_compile=True)
    def generate(input_ids: tf.Tensor, attention_mask: tf.Tensor) -> tf.Tensor:
        return generate_ids(hf_model, options, input_ids, attention_mask)

    return generate


def generate_batches(generate: Callable[[tf.Tensor, tf.Tensor], tf.Tensor], batches: Iterable[Mapping[str, Any]],
                     pad_id: int) -> np.ndarray:
    """Runs ``generate`` over input batches; returns the ids of all rows ``[n, width]``.

    A short batch is filled up to the first batch's size with copies of its first row
    (dropped again), so the compiled function sees one batch size and compiles once per
    input width only.
    """
    parts: list[np.ndarray] = []
    rows = 0
    for batch in batches:
        ids, mask = np.asarray(batch["input_ids"]), np.asarray(batch["attention_mask"])
        n = len(ids)
        rows = rows or n
        if n < rows:
            fill = np.repeat(ids[:1], rows - n, axis=0), np.repeat(mask[:1], rows - n, axis=0)
            ids, mask = np.concatenate([ids, fill[0]]), np.concatenate([mask, fill[1]])
        parts.append(np.asarray(generate(tf.constant(ids, tf.int32), tf.constant(mask, tf.int32)))[:n])
    if not parts:
        return np.zeros((0, 1), np.int32)
    width = max(p.shape[1] for p in parts)
    return np.concatenate([np.pad(p, [(0, 0), (0, width - p.shape[1])], constant_values=pad_id) for p in parts])


def serving_function(hf_model: Any, options: GenerationOptions, chunk: int = SERVING_CHUNK) -> Any:
    """A SavedModel signature: ``input_ids``, ``attention_mask`` int32 ``[batch, seq]`` (any batch,
    any length) -> ``sequences`` int32 ``[batch, 1 + max_new_tokens]``, compiled with XLA."""
    return chunked_generator(hf_model, options, chunk).get_concrete_function()


def chunked_generator(hf_model: Any, options: GenerationOptions, chunk: int = SERVING_CHUNK) -> Any:
    """The ``tf.function`` behind :func:`serving_function` (a raw-text signature calls it too).

    The request is cut into chunks of ``chunk`` rows (HF beam search needs a static batch
    size) that a ``tf.map_fn`` decodes one after another inside the compiled function.
    """
    width = 1 + options.max_new_tokens
    spec = [tf.TensorSpec([None, None], tf.int32, name=n) for n in ("input_ids", "attention_mask")]

    @tf.function(input_signature=spec, jit_compile=True)
    def serve(input_ids: tf.Tensor, attention_mask: tf.Tensor) -> dict[str, tf.Tensor]:
        n, length = tf.shape(input_ids)[0], tf.shape(input_ids)[1]
        extra = (-n) % chunk
        ids = tf.reshape(tf.pad(input_ids, [[0, extra], [0, 0]]), [-1, chunk, length])
        mask = tf.reshape(tf.pad(attention_mask, [[0, extra], [0, 0]]), [-1, chunk, length])
        out = tf.map_fn(lambda pair: generate_ids(hf_model, options, pair[0], pair[1]), (ids, mask),
                        fn_output_signature=tf.TensorSpec([chunk, width], tf.int32))
        return {"sequences": tf.reshape(out, [-1, width])[:n]}

    return serve
