"""The export checks itself: the written SavedModel, reloaded, must answer as tfft does in Python.

Before a version directory is published, :func:`check_export` loads the SavedModel from
its temporary directory and runs a handful of probe inputs through it:

- ``serve_ids`` on the Hugging Face tokenizer's ids, against the same signature called on
  the in-memory Keras model;
- a raw-text ``serving_default``, against the task's Python path
  (:meth:`tfft.tasks.base.Task.text_reference`: HF tokenization, the Keras model, the
  task's post-processing).

Floats must agree within ``ATOL`` (a SavedModel runs the same kernels, so differences are
rounding), everything else exactly. A mismatch is a :class:`tfft.errors.TfftError` and
the export is not published.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from tfft.errors import TfftError

ATOL = 1e-5
#: Probe texts: plain, accented/CJK/emoji, and one longer than any window (cut or windowed).
PROBE_TEXTS = ("A short and plain text.", "Café déjà vu — naïve 東京 🤖!", "the long one " * 200)
PROBE_QUESTIONS = ("What is it?", "Où est-il ?", "Which one?")


def probe_inputs(signature: Any) -> dict[str, list[str]]:
    """Probe strings for each string input of a signature (``question`` gets questions)."""
    names = [spec.name for spec in tf.nest.flatten(signature.structured_input_signature) if spec.dtype == tf.string]
    return {name: list(PROBE_QUESTIONS if name == "question" else PROBE_TEXTS) for name in names}


def check_export(path: str, model: Any, task: Any, signatures: Mapping[str, Any], encoder: Any = None) -> None:
    """Reloads the SavedModel at ``path`` and compares it with the Keras model and Python post-processing.

    An untrained head's outputs hardly depend on its input (logits ~1e-4), so the in-graph
    tokenizer's ids are also compared with the HF tokenizer's directly.

    Raises:
        TfftError: ids or an output differ (the message names the signature and output).
    """
    if encoder is not None:
        check_encoder(encoder, model.tokenizer, model.info.max_length)
    loaded = tf.saved_model.load(path)
    ids = signatures["serve_ids"]
    inputs = tokenized_probe(model.tokenizer, ids, model.info.max_length)
    _compare("serve_ids", _numpy(loaded.signatures["serve_ids"](**inputs)), _numpy(ids(**inputs)))
    default = signatures["serving_default"]
    texts = probe_inputs(default)
    if texts:
        served = _numpy(loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in texts.items()}))
        _compare("serving_default", served, task.text_reference(model, model.info, signatures, texts))


def check_encoder(encoder: Any, tokenizer: Any, max_length: int) -> None:
    """The in-graph encoder's ids equal the HF tokenizer's on :data:`PROBE_TEXTS`."""
    expected = tokenizer(list(PROBE_TEXTS), truncation=True, max_length=max_length)["input_ids"]
    got = encoder(tf.constant(PROBE_TEXTS))
    lengths = tf.reduce_sum(got["attention_mask"], axis=1).numpy()
    for text, row, n, want in zip(PROBE_TEXTS, got["input_ids"].numpy(), lengths, expected):
        if row[:n].tolist() != want:
            raise TfftError(f"The in-graph tokenizer gives other ids than the Hugging Face tokenizer for {text[:40]!r} "
                            f"({row[:8].tolist()}... vs {want[:8]}...); the export was not published. This "
                            f"tokenizer ({type(tokenizer).__name__}) is not reproduced in the graph.")


def tokenized_probe(tokenizer: Any, signature: Any, max_length: int,
                    texts: Sequence[str] = PROBE_TEXTS) -> dict[str, tf.Tensor]:
    """``texts`` as the HF tokenizer encodes them, for the signature's int32 inputs."""
    names = [spec.name for spec in tf.nest.flatten(signature.structured_input_signature)]
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length, padding=True,
                        return_tensors="np", return_token_type_ids=True)
    return {name: tf.constant(np.asarray(encoded[name], np.int32)) for name in names}


def _numpy(outputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v.numpy() if hasattr(v, "numpy") else v) for k, v in outputs.items()}


def _compare(signature: str, served: Mapping[str, np.ndarray], expected: Mapping[str, Any]) -> None:
    for key, want in expected.items():
        got, want = served.get(key), np.asarray(want)
        if got is None:
            raise TfftError(f"The export's {signature} has no output '{key}' (it has {', '.join(sorted(served))}); "
                            "the export was not published. This is a bug in tfft's signature for this task.")
        if got.dtype.kind in "SOU" or want.dtype.kind in "SOU":
            same = got.shape == want.shape and [_text(g) for g in got.ravel()] == [_text(w) for w in want.ravel()]
            detail = f"served {[_text(g) for g in got.ravel()][:3]} vs Python {[_text(w) for w in want.ravel()][:3]}"
        elif got.dtype.kind == "f" or want.dtype.kind == "f":
            same = got.shape == want.shape and np.allclose(got, want, atol=ATOL, rtol=ATOL)
            detail = (f"max difference {np.max(np.abs(got - want)):.3g}" if got.shape == want.shape
                      else f"shapes {got.shape} vs {want.shape}")
        else:
            same = got.shape == want.shape and np.array_equal(got, want)
            detail = f"served {got.ravel()[:6].tolist()} vs Python {want.ravel()[:6].tolist()}"
        if not same:
            raise TfftError(f"The reloaded export's {signature} output '{key}' differs from the Keras model and "
                            f"Python post-processing on the probe inputs ({detail}; tolerance {ATOL}); the export "
                            "was not published. The in-graph tokenizer or a signature does not match this model.")


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
