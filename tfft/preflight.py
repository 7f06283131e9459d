"""Checks made before a run writes anything, so it does not fail hours in on a full disk or
a read-only directory, and a failed start leaves nothing behind that a corrected retry would
trip over. (In train and evaluate mode the data and the model are read and checked by
``prepare``.)"""

from __future__ import annotations

import os
import shutil
from typing import Any

from tfft.errors import TfftError

WEIGHT_FILES = (".h5", ".safetensors", ".bin", ".msgpack", ".npz")
# Copies of the weights one checkpoint holds besides the weights: the best epoch's weights
# and the optimizer slots (AdamW: two moments per weight; Adafactor: factored, under one).
_CHECKPOINT_COPIES = {"adamw": 4, "adafactor": 3}
# The directories each mode writes (predict writes nothing).
_WRITES = {"train": ("output_dir", "export_dir"), "evaluate": ("output_dir",), "export": ("output_dir", "export_dir")}


def check_destinations(cfg: Any) -> None:
    """Raises a one-line ``TfftError`` when a directory that ``cfg.mode`` writes cannot be
    created or written (see :func:`check_writable_dir`)."""
    for flag in _WRITES.get(cfg.mode, ()):
        path = cfg.output_dir if flag == "output_dir" else os.path.join(cfg.export_dir, cfg.export_name)
        check_writable_dir(flag, path)


def check_writable_dir(flag: str, path: str) -> None:
    """Creates ``path`` (and its missing parents) and a file in it, then removes what it created.

    Example:
        >>> check_writable_dir("output_dir", "/proc/run")
        TfftError: --output_dir '/proc/run' cannot be created in '/proc' (No such file or directory); ...

    Raises:
        TfftError: ``path`` or a parent is a file, or creating a directory or file failed
            (the message carries the system's reason, e.g. "Read-only file system").
    """
    parent = existing_parent(path)
    existed = parent == os.path.abspath(path)
    if not os.path.isdir(parent):
        where = "is a file" if existed else f"cannot be created: '{parent}' is a file"
        raise TfftError(f"--{flag} '{path}' {where}, not a directory; pass a directory path.")
    created: list[str] = []
    try:
        for missing in _missing_dirs(path, parent):
            os.mkdir(missing)
            created.append(missing)
        probe = os.path.join(path, f".write-test-{os.getpid()}")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as err:
        what = "is not writable" if existed else f"cannot be created in '{parent}'"
        raise TfftError(f"--{flag} '{path}' {what} ({err.strerror}); pass a directory you can write to.") from None
    finally:
        for directory in reversed(created):
            os.rmdir(directory)


def _missing_dirs(path: str, parent: str) -> list[str]:
    """The directories between ``parent`` (existing) and ``path``, outermost first."""
    missing = []
    path = os.path.abspath(path)
    while path != parent:
        missing.append(path)
        path = os.path.dirname(path)
    return missing[::-1]


def check_disk(cfg: Any, model_dir: str) -> None:
    """Raises a one-line ``TfftError`` when the disk under the output directory cannot hold a
    checkpoint and the trained model."""
    weights = weight_bytes(model_dir)
    need = weights * (_CHECKPOINT_COPIES.get(cfg.optimizer, 4) + 1)  # + the saved model/
    free = shutil.disk_usage(existing_parent(cfg.output_dir)).free
    if need > free:
        raise TfftError(f"Not enough free disk for --output_dir '{cfg.output_dir}': a checkpoint and the trained "
                        f"model need about {need / 2**20:.0f} MB (weights {weights / 2**20:.0f} MB), "
                        f"{free / 2**20:.0f} MB are free. Free some space or pass another --output_dir.")


def existing_parent(path: str) -> str:
    """``path`` itself if it exists, else its nearest existing ancestor (absolute)."""
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
