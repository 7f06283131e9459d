"""Checks made before training starts, so a run does not fail hours in on a full disk or a
read-only directory. (The data and the model are read and checked by ``prepare`` first.)"""

from __future__ import annotations

import os
import shutil
from typing import Any

from tfft.errors import TfftError

WEIGHT_FILES = (".h5", ".safetensors", ".bin", ".msgpack", ".npz")
# Copies of the weights one checkpoint holds besides the weights: the best epoch's weights
# and the optimizer slots (AdamW: two moments per weight; Adafactor: factored, under one).
_CHECKPOINT_COPIES = {"adamw": 4, "adafactor": 3}


def check(cfg: Any, model_dir: str) -> None:
    """Raises a one-line ``TfftError`` when the output or export directory cannot be written
    or the disk under the output directory cannot hold a checkpoint and the trained model."""
    for flag, path in (("output_dir", cfg.output_dir), ("export_dir", cfg.export_dir)):
        if os.path.exists(path) and not os.path.isdir(path):
            raise TfftError(f"--{flag} '{path}' is a file, not a directory; pass a directory path.")
        parent = existing_parent(path)
        if not os.access(parent, os.W_OK | os.X_OK):
            raise TfftError(f"--{flag} '{path}' cannot be created or written ('{parent}' is not writable); "
                            "pass a writable directory.")
    weights = weight_bytes(model_dir)
    need = weights * (_CHECKPOINT_COPIES.get(cfg.optimizer, 4) + 1)  # + the saved model/
    free = shutil.disk_usage(existing_parent(cfg.output_dir)).free
    if need > free:
        raise TfftError(f"Not enough free disk for --output_dir '{cfg.output_dir}': a checkpoint and the trained "
                        f"model need about {need / 2**20:.0f} MB (weights {weights / 2**20:.0f} MB), "
                        f"{free / 2**20:.0f} MB are free. Free some space or pass another --output_dir.")


def existing_parent(path: str) -> str:
    """``path`` itself if it exists, else its nearest existing ancestor."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def weight_bytes(model_dir: str) -> int:
    """Size of the weight files in ``model_dir`` (0 when it holds none, e.g. a hub id not yet cached)."""
    if not os.path.isdir(model_dir):
        return 0
    return sum(os.path.getsize(os.path.join(model_dir, name)) for name in os.listdir(model_dir)
               if name.endswith(WEIGHT_FILES))
