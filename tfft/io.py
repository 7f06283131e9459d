"""Writing files so that a crash never leaves half of one behind."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from typing import Any


def write_json(path: str, data: Any) -> None:
    """Writes ``data`` as JSON to a temporary file beside ``path``, then renames it into place."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=False, default=str)
        f.write("\n")
    os.replace(tmp, path)


def write_jsonl(path: str, rows: Any) -> None:
    """Writes one JSON object per line, atomically like :func:`write_json`."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    os.replace(tmp, path)


def read_json(path: str) -> Any:
    """Reads a JSON file."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def replace_dir(tmp: str, final: str) -> None:
    """Moves the complete directory ``tmp`` to ``final``; an older ``final`` is removed only after."""
    old = None
    if os.path.exists(final):
        old = f"{final}.old-{os.getpid()}-{int(time.time())}"
        os.rename(final, old)
    os.rename(tmp, final)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def make_temp_dir(parent: str, prefix: str) -> str:
    """Creates a new, uniquely named directory in ``parent`` and returns its path.

    Unlike ``tempfile.mkdtemp`` (always 0700) it gets the permissions the umask allows
    (0755 under umask 022), which a directory published by renaming it keeps: TF Serving
    running as another user must be able to read an export version.
    """
    while True:
        path = os.path.join(parent, prefix + uuid.uuid4().hex[:12])
        try:
            os.mkdir(path)
            return path
        except FileExistsError:  # about one chance in 2**48
            continue
