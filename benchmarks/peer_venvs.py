"""The virtualenvs the peer cases run in, made by the benchmark under ``~/.cache/tfft/bench-venvs/``.

Each peer runs as its user would install it, in a virtualenv of its own outside the repo:
``hf-trainer`` (PyTorch 2.13.0 CPU, the transformers tfft pins, scikit-learn) and
``kerashub`` (keras-hub with TensorFlow 2.21, so Keras 3). torch is pinned exactly: 2.13.0
installs from this machine's disk, any other version would download gigabytes.

Example:
    python -m benchmarks.peer_venvs        # makes both (a few minutes each)
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Optional

import transformers

# TFFT_BENCH_VENVS moves them (the tests point it at an empty directory).
ROOT = os.environ.get("TFFT_BENCH_VENVS") or os.path.join(os.path.expanduser("~"), ".cache", "tfft", "bench-venvs")
PACKAGES = {
    "hf-trainer": ["torch==2.13.0", f"transformers=={transformers.__version__}", "scikit-learn", "accelerate"],
    "kerashub": ["keras-hub", "tensorflow==2.21.*", "safetensors"],
}
_READY = ".tfft-ready"  # written last: a venv without it was interrupted and is made again


def python(name: str) -> str:
    """The interpreter of venv ``name``."""
    return os.path.join(ROOT, name, "bin", "python")


def ready(name: str) -> bool:
    """Whether venv ``name`` exists and finished installing."""
    return os.path.exists(os.path.join(ROOT, name, _READY))


def ensure(name: str, log: Optional[str] = None) -> str:
    """Makes venv ``name`` unless it is ready; returns its interpreter.

    Raises:
        RuntimeError: pip failed (its last output lines are in the message).
    """
    if ready(name):
        return python(name)
    path = os.path.join(ROOT, name)
    subprocess.run([sys.executable, "-m", "venv", "--clear", path], check=True)
    proc = subprocess.run([python(name), "-m", "pip", "install", "--quiet", *PACKAGES[name]],
                          capture_output=True, text=True)
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"could not make the benchmark venv {path} (pip install {' '.join(PACKAGES[name])}): "
                           + " | ".join(proc.stderr.strip().splitlines()[-3:]))
    open(os.path.join(path, _READY), "w").close()
    return python(name)


if __name__ == "__main__":
    for venv in sys.argv[1:] or list(PACKAGES):
        print(venv, ensure(venv), flush=True)
