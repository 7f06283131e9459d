"""Fine-tuning modes: which weights train (``--finetune``), and the layers some modes add.

========  ==========================================================================
full      every weight trains (adapters and an MLP head too, when the model has them)
frozen    embeddings and encoder frozen; the task head trains (classifier,
          pre_classifier, qa_outputs, or an untied T5 lm_head)
adapter   bottleneck adapters, every LayerNorm and the head train; the rest is frozen
lora      low-rank updates of the chosen projections and the head train
========  ==========================================================================

Frozen weights stay plain Keras variables; :class:`tfft.models.wrap.TaskModel` leaves them
out of ``trainable_weights``, so the optimizer neither updates them nor keeps slots for them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from typing import Any, Iterable

import numpy as np

from tfft.errors import TfftError
from tfft.models import adapters, lora, pooling
from tfft.models.layers import weight_key

#: Top-level layers that belong to the task head (``pooler``: DeBERTa-v2's ContextPooler, new
#: with the head; a BERT or ALBERT pooler sits inside the encoder, ``bert/pooler``).
HEAD_LAYERS = ("classifier", "pre_classifier", "pooler", "qa_outputs", "lm_head")
LAYER_NORM = re.compile(r"layer_?norm", re.IGNORECASE)
#: Weights tfft adds to a Hugging Face model (adapters, MLP head), saved beside it in the model dir.
EXTRA_WEIGHTS = "tfft_weights.npz"
#: A run's trainable weights alone (adapter and LoRA runs), for ``--load_adapter``.
ADAPTER_FILE = "adapter_weights.npz"


def architecture(cfg: Any, info: Any) -> dict[str, Any]:
    """The layers tfft adds to the model: the saved model's, plus what this run's flags ask for."""
    saved = dict(info.extras.get("architecture") or {})
    arch = {"head": "mlp" if "mlp" in (saved.get("head"), cfg.head) else "linear"}
    size = saved.get("adapter_size") or (cfg.adapter_size if cfg.finetune == "adapter" else None)
    if size:
        arch["adapter_size"] = int(size)
    return arch


def apply(model: Any, cfg: Any, model_dir: str) -> None:
    """Adds the architecture's layers and the mode's updates to ``model`` and freezes what the
    mode freezes; call it under the run's strategy scope, before ``compile``."""
    hf, info = model.hf_model, model.info
    arch = architecture(cfg, info)
    if arch["head"] == "mlp":
        model.mlp_head = adapters.add_mlp_head(hf, cfg.seed)
    if arch.get("adapter_size"):
        model.adapters = adapters.add_adapters(hf, arch["adapter_size"], cfg.seed)
    saved = os.path.join(model_dir, EXTRA_WEIGHTS)
    if info.extras.get("architecture") and os.path.exists(saved):
        _assign(model, read_weights(saved)[0], saved)
    if cfg.finetune == "lora":
        model.lora = lora.add(hf, cfg.lora_targets, cfg.lora_rank, cfg.lora_alpha, cfg.lora_dropout, cfg.seed)
    if cfg.load_adapter:
        load_adapter(model, cfg, arch)
    model.freeze(frozen_weights(model, cfg.finetune))
    model.info = dataclasses.replace(info, extras={**info.extras, "architecture": arch})
    model.finetune = describe(model, cfg)


def _added(model: Any, name: str) -> list[Any]:
    """Weights of the layers tfft added under ``name`` (``adapters``, ``lora``, ``mlp_head``)."""
    import tensorflow as tf

    value = getattr(model, name, None)
    layers = [] if value is None else [value] if isinstance(value, tf.keras.layers.Layer) else list(value)
    return [w for layer in layers for w in layer.weights]


def frozen_weights(model: Any, mode: str) -> list[Any]:
    """The weights ``mode`` keeps fixed.

    Raises:
        TfftError: ``frozen`` on a model without a trainable head (a T5 whose output layer is
            tied to its embeddings).
    """
    hf = model.hf_model
    head, backbone = [], []
    for w in hf.weights:
        (head if weight_key(hf, w).split("/")[0] in HEAD_LAYERS else backbone).append(w)
    frozen = pooling.unused_weights(hf, model.info.extras.get("pooling"))
    if getattr(model, "mlp_head", None) is not None:  # the linear classifier it replaces is unused
        classifier = hf.classifier
        head = [w for w in head if all(w is not v for v in classifier.weights)]
        frozen += list(classifier.weights)
    if mode == "frozen" and not head and getattr(model, "mlp_head", None) is None:
        raise TfftError(f"--finetune=frozen leaves nothing to train in {type(hf).__name__}: it has none of the "
                        f"head layers {', '.join(HEAD_LAYERS)} (a T5 ties its output layer to the shared "
                        "embeddings). Use --finetune=lora or --finetune=adapter.")
    if mode == "full":
        return frozen
    if mode == "adapter":
        return frozen + [w for w in backbone if not LAYER_NORM.search(weight_key(hf, w))]
    return frozen + backbone + (_added(model, "adapters") if mode in ("frozen", "lora") else [])


def describe(model: Any, cfg: Any) -> str:
    """One line on the mode for the run's start: ``lora: rank 8, alpha 16 on 4 layers (query, value)``."""
    parts = [cfg.finetune]
    if getattr(model, "lora", None):
        names = sorted({u.key.rsplit("/", 1)[-1] for u in model.lora})
        parts.append(f"rank {cfg.lora_rank}, alpha {cfg.lora_alpha:g} on {len(model.lora)} layers "
                     f"({', '.join(names)})")
    if getattr(model, "adapters", None):
        parts.append(f"{len(model.adapters)} adapters of size {model.adapters[0].down.units}")
    if getattr(model, "mlp_head", None) is not None:
        parts.append("MLP head")
    return parts[0] + (": " + "; ".join(parts[1:]) if len(parts) > 1 else "")


def merge_lora(model: Any) -> None:
    """Folds LoRA updates into the base weights and removes them (nothing to do without LoRA).

    The model's outputs do not change; it becomes a plain Hugging Face model (plus any
    adapters or MLP head), as ``save_pretrained`` and the export need.
    """
    updates = getattr(model, "lora", None)
    if not updates:
        return
    lora.merge(list(updates))
    del model.lora
    model.train_function = model.test_function = model.predict_function = None  # retrace without LoRA


def keyed(model: Any, weights: Iterable[Any]) -> dict[str, Any]:
    """``weights`` by their stable keys (see :func:`tfft.models.layers.weight_key`)."""
    return {weight_key(model.hf_model, w): w for w in weights}


def save_weights(path: str, weights: dict[str, Any], meta: dict[str, Any]) -> str:
    """Writes ``{key: variable}`` and ``meta`` to an ``.npz`` file (atomically); returns ``path``."""
    arrays = {key: np.asarray(w.numpy()) for key, w in weights.items()}
    tmp = f"{path}.tmp-{os.getpid()}.npz"
    np.savez(tmp, __meta__=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, path)
    return path


def read_weights(path: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays by key and the meta dict of a file written by :func:`save_weights`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise TfftError(f"Cannot read weights file '{path}' ({err}); pass an adapter_weights.npz written by "
                        "a tfft --finetune=adapter or lora run.") from None
    return arrays, json.loads(str(arrays.pop("__meta__", "{}")))


def save_extra(model: Any, model_dir: str) -> None:
    """Writes the adapter and MLP head weights beside a saved Hugging Face model (if any)."""
    extra = _added(model, "adapters") + _added(model, "mlp_head")
    if extra:
        save_weights(os.path.join(model_dir, EXTRA_WEIGHTS), keyed(model, extra),
                     {"architecture": model.info.extras.get("architecture", {})})


def save_adapter(model: Any, cfg: Any, path: str) -> str:
    """Writes the run's trainable weights (adapters or LoRA, LayerNorms, head) to ``path``."""
    meta = {"finetune": cfg.finetune, "model": cfg.model, "architecture": model.info.extras.get("architecture"),
            "lora_rank": cfg.lora_rank, "lora_alpha": cfg.lora_alpha,
            "lora_targets": sorted({u.key.rsplit("/", 1)[-1] for u in getattr(model, "lora", None) or []})}
    return save_weights(path, keyed(model, model.trainable_weights), meta)


def load_adapter(model: Any, cfg: Any, arch: dict[str, Any]) -> None:
    """Puts the weights of ``--load_adapter`` on the model (whose added layers are ``arch``).

    Raises:
        TfftError: the file is from another mode, or its weights do not fit this model.
    """
    arrays, meta = read_weights(cfg.load_adapter)
    if meta.get("finetune") not in (None, cfg.finetune):
        lora_note = (f" --lora_rank={meta.get('lora_rank')} --lora_alpha={meta.get('lora_alpha')} "
                     f"--lora_targets={','.join(meta.get('lora_targets') or [])}" if meta["finetune"] == "lora" else "")
        raise TfftError(f"--load_adapter '{cfg.load_adapter}' holds --finetune={meta['finetune']} weights but this "
                        f"run has --finetune={cfg.finetune}; pass --finetune={meta['finetune']}{lora_note}.")
    saved = meta.get("architecture") or {}
    if saved and saved != arch:
        raise TfftError(f"--load_adapter '{cfg.load_adapter}' was trained with {_arch_flags(saved)} but this run "
                        f"builds {_arch_flags(arch)}; pass {_arch_flags(saved)}.")
    _assign(model, arrays, cfg.load_adapter, meta.get("model"))


def _arch_flags(arch: dict[str, Any]) -> str:
    size = arch.get("adapter_size")
    return f"--head={arch.get('head', 'linear')}" + (f" --adapter_size={size}" if size else "")


def _assign(model: Any, arrays: dict[str, np.ndarray], path: str, source: Any = None) -> None:
    weights = keyed(model, model.weights)
    missing = sorted(set(arrays) - set(weights))
    if missing:
        origin = f" (saved from --model={source})" if source else ""
        raise TfftError(f"Weights file '{path}'{origin} has {len(missing)} weights this model lacks, e.g. "
                        f"{', '.join(missing[:3])}; load it with the base model and the --finetune, --lora_* / "
                        "--adapter_size flags it was trained with.")
    for key, array in arrays.items():
        if tuple(weights[key].shape) != array.shape:
            raise TfftError(f"Weights file '{path}': {key} has shape {array.shape} but this model's is "
                            f"{tuple(weights[key].shape)}; pass the --lora_rank / --adapter_size it was trained with.")
        weights[key].assign(array)
