"""SavedModel export in TF Serving's layout: ``<export_dir>/<name>/<version>/``.

Versions are integers; a new export takes max+1 and never replaces an existing one. The
model is written to a hidden temporary directory beside the versions (TF Serving ignores
names that are not integers) and renamed when complete, so a crash mid-export leaves no
version directory behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from typing import Any

import tensorflow as tf

from tfft import progress
from tfft._env import filtered_stderr
from tfft.errors import TfftError
from tfft.io import make_temp_dir
from tfft.models import modes
from tfft.serving.batching import padding_safe, write_batching
from tfft.serving.ops import missing_in_tf_serving, signature_ops, split_xla
from tfft.serving.parity import check_export
from tfft.serving.text import text_encoder

_VERSION = re.compile(r"^\d+$")


def versions(base: str) -> list[int]:
    """Existing integer versions under ``base``, ascending."""
    if not os.path.isdir(base):
        return []
    return sorted(int(n) for n in os.listdir(base) if _VERSION.match(n))


def export_run(model: Any, task: Any, cfg: Any) -> str:
    """Exports a run's ``model`` as the next version under ``<export_dir>/<export_name>/``
    (``cfg``'s, for ``cfg``'s serving device); returns the path. LoRA updates are merged into
    the base weights first (:func:`tfft.models.modes.merge_lora`)."""
    modes.merge_lora(model)
    with progress.Progress("Exporting", reports=True):
        return export_model(model, task, cfg.export_dir, cfg.export_name, serving_device=cfg.serving_device)


def export_model(model: Any, task: Any, export_dir: str, name: str, serving_device: str = "cpu") -> str:
    """Saves ``model`` with ``task``'s serving signatures as the next version; returns its path.

    Signatures: ``serving_default`` on raw strings (tokenized in-graph; see
    :mod:`tfft.serving.text`) and ``serve_ids`` on token ids. Assets: ``labels.txt`` (class
    names in id order), ``tfft.json`` (task facts; ``serving``: signatures, their non-core
    ops) and the tokenizer under ``assets/tokenizer/``; beside them ``batching_params.pbtxt``, TF
    Serving's batching recipe for ``serving_device`` (:mod:`tfft.serving.batching`). Before the
    version is published the SavedModel is reloaded and checked against the Keras model
    (:mod:`tfft.serving.parity`).

    Raises:
        TfftError: ``export_dir`` is not writable, or the reloaded export answers differently.
    """
    with filtered_stderr():  # oneDNN logs an error-level line on the first int64 op without AVX-512
        return _export_model(model, task, export_dir, name, serving_device)


def _export_model(model: Any, task: Any, export_dir: str, name: str, serving_device: str = "cpu") -> str:
    """The body of :func:`export_model`."""
    base = os.path.join(export_dir, name)
    try:
        os.makedirs(base, exist_ok=True)
    except OSError as err:
        raise TfftError(f"--export_dir '{export_dir}' is not writable ({err.strerror}); pass another one.") from None
    progress.note("tracing the serving signatures")  # each step says itself in the open export phase
    encoder = text_encoder(model.tokenizer, model.info.max_length)
    signatures = serving_signatures(model, task, encoder)
    tmp = make_temp_dir(base, ".tmp-export-")
    try:
        root = tf.Module()
        root.weights = list(model.weights)  # track variables only: no Keras layer serialisation
        root.encoder = encoder
        progress.note("writing the SavedModel")
        tf.saved_model.save(root, tmp, signatures=signatures)
        default_inputs = tf.nest.flatten(signatures["serving_default"].structured_input_signature)
        text_inputs = [spec.name for spec in default_inputs if spec.dtype == tf.string]
        facts = serving_facts(tmp, signatures, model.tokenizer, bool(text_inputs))
        facts["batching"] = {"file": os.path.basename(write_batching(tmp, signatures, serving_device)),
                             "device": serving_device}
        _write_assets(model, os.path.join(tmp, "assets"), facts)
        if text_inputs:
            _write_warmup(tmp, name, text_inputs)
        progress.note("checking the export against the Keras model")
        check_export(tmp, model, task, signatures, encoder)
        return _publish(tmp, base)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def serving_signatures(model: Any, task: Any, encoder: Any) -> dict[str, Any]:
    """The task's token-id signatures plus, when the tokenizer can run in-graph, its raw-text ones.

    ``serving_default`` takes raw strings when the task and tokenizer allow it; otherwise it
    is the token-id signature. ``serve_ids`` always takes token ids, and ignores what follows each
    row's end token, as TF Serving's batching pads (:func:`tfft.serving.batching.padding_safe`).
    """
    ids = {name: padding_safe(fn, model.tokenizer)
           for name, fn in task.serving_signatures(model, model.info).items()}
    if "serve_ids" not in ids and "serving_default" in ids:
        ids["serve_ids"] = ids["serving_default"]
    text = task.text_signatures(model, model.info, encoder) if encoder is not None else {}
    signatures = {**ids, **text}
    signatures.setdefault("serving_default", ids["serve_ids"])
    return signatures


def serving_facts(path: str, signatures: dict[str, Any], tokenizer: Any, text: bool) -> dict[str, Any]:
    """What ``tfft.json`` records under ``serving``: each signature's inputs and non-core ops,
    and what ``serving_default`` takes. Prints a note when it stays on ids and a warning for
    ops the stock TF Serving model server lacks."""
    ops, xla = split_xla(signature_ops(path))
    facts: dict[str, Any] = {"serving_default_input": "text" if text else "token_ids", "signatures": {
        name: {"inputs": sorted(spec.name for spec in tf.nest.flatten(fn.structured_input_signature)),
               "ops": ops.get(name, []), "xla": xla.get(name, False)} for name, fn in signatures.items()}}
    if not text:
        from tfft.serving.spm_text import why_not

        detail = why_not(tokenizer, 64) if str(getattr(tokenizer, "vocab_file", "")).endswith(".model") else ""
        reason = (f"the {type(tokenizer).__name__} tokenizer cannot run in the graph (in-graph tokenization "
                  "covers BERT WordPiece, RoBERTa byte-level BPE, T5 SentencePiece with its spiece.model and "
                  f"ALBERT / XLM-R / DeBERTa-v2 SentencePiece){': ' + detail if detail else ''}")
        facts["text_unavailable"] = reason
        print(f"note: this export's serving_default takes token ids: {reason}.", file=sys.stderr)
    if any(xla.values()):
        print("note: this export runs XLA-compiled code (the beam search); TF Serving on CPU needs "
              "--xla_cpu_compilation_enabled=true.", file=sys.stderr)
    for name, missing in missing_in_tf_serving(ops).items():
        print(f"warning: signature {name} uses ops the stock TF Serving model server does not register "
              f"({', '.join(missing)}); serve it from a model server built with them, or use serve_ids.",
              file=sys.stderr)
    return facts


def _write_assets(model: Any, assets: str, serving: dict[str, Any]) -> None:
    os.makedirs(assets, exist_ok=True)
    info = model.info
    with open(os.path.join(assets, "labels.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{name}\n" for name in info.label_names)
    with open(os.path.join(assets, "tfft.json"), "w", encoding="utf-8") as f:
        json.dump({**info.to_dict(), "serving": serving}, f, indent=2)
    model.tokenizer.save_pretrained(os.path.join(assets, "tokenizer"))


WARMUP_TEXTS = ("This is a warmup request.", "A second, somewhat longer text so that two batch shapes are compiled "
                                           "before the first real request arrives.")


def _write_warmup(path: str, name: str, inputs: list[str]) -> None:
    """Sample raw-text requests TF Serving replays before it serves a new version."""
    from tfft.serving.client import write_warmup

    extra = os.path.join(path, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    write_warmup(os.path.join(extra, "tf_serving_warmup_requests"), name, list(WARMUP_TEXTS), names=inputs)


def _publish(tmp: str, base: str) -> str:
    """Renames ``tmp`` to the next free integer version; retries if another writer took it."""
    version = (versions(base) or [0])[-1] + 1
    while True:
        final = os.path.join(base, str(version))
        if not os.path.exists(final):
            try:
                os.rename(tmp, final)
                return final
            except OSError:
                pass  # created meanwhile by another process: take the next number
        version += 1
