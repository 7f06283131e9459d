"""Helpers the example notebooks (``examples/*.ipynb``) share: where the shipped samples are,
and which accelerator and ``tf.distribute`` strategy a notebook's runs will use.

Example:
    >>> import tfft
    >>> from tfft import notebook
    >>> strategy = notebook.describe_runtime()          # prints e.g. "CPU only: tfft uses _DefaultDistributionStrategy"
    >>> train_csv = notebook.sample_data("imdb_sample") + "/train.csv"
"""

from __future__ import annotations

import os
from pathlib import Path

from tfft.errors import TfftError

SAMPLES_ENV = "TFFT_EXAMPLES"  # a directory holding the samples (examples/data), for a copy elsewhere


def sample_data(name: str) -> str:
    """The directory of a shipped sample (``imdb_sample``, ``emotions_sample``, ``squad_sample``,
    ``t5_sample``) under ``examples/data``.

    Looked for in ``$TFFT_EXAMPLES``, then ``examples/data`` in the working directory and its
    parents, then beside the installed package (a git clone installed with ``pip install -e``).

    Raises:
        TfftError: when no such directory is found; the message lists the places searched.
    """
    places = [Path(os.environ[SAMPLES_ENV])] if os.environ.get(SAMPLES_ENV) else []
    here = Path.cwd().resolve()
    places += [p / "examples" / "data" for p in (here, *here.parents)]
    places.append(Path(__file__).resolve().parents[1] / "examples" / "data")
    for place in places:
        if (place / name).is_dir():
            return str(place / name)
    raise TfftError(f"The sample '{name}' was not found (looked in {', '.join(str(p) for p in places[:3])}, ... "
                    f"and beside the tfft package). Clone the tfft repository and run from it, or set "
                    f"{SAMPLES_ENV} to its examples/data directory.")


def strategy_name() -> str:
    """``tpu`` when a TPU is attached (Colab's ``COLAB_TPU_ADDR`` or a TPU VM's devices), else ``auto``
    (MirroredStrategy over several GPUs, the default strategy on one GPU or the CPU)."""
    import tensorflow as tf

    if os.environ.get("COLAB_TPU_ADDR") or tf.config.list_physical_devices("TPU"):
        return "tpu"
    return "auto"


def describe_runtime() -> str:
    """Prints and returns the accelerators found and the strategy tfft will use for them; pass the
    returned name as ``tfft.Config(strategy=...)``. A TPU is named, not connected to: connecting
    is done once, by the run."""
    import tensorflow as tf

    name = strategy_name()
    gpus = tf.config.list_physical_devices("GPU")
    if name == "tpu":
        print("TPU found: tfft uses TPUStrategy (strategy='tpu')")
        return name
    from tfft.training.strategy import get_strategy

    strategy = get_strategy(name)
    found = f"{len(gpus)} GPU(s)" if gpus else "CPU only"
    print(f"{found}: tfft uses {type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s) "
          f"(strategy='{name}'), TensorFlow {tf.__version__}")
    return name
