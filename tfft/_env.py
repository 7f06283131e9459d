"""Process set-up that must happen before TensorFlow is imported, and console noise filters.

tfft runs the Hugging Face TF model classes, which only work with Keras 2 (``tf-keras``).
TensorFlow picks its Keras when ``tf.keras`` is first touched, so ``TF_USE_LEGACY_KERAS``
must be set before that moment; :func:`use_legacy_keras` does it and :func:`require_legacy_keras`
checks the result where tfft needs Keras.
:func:`use_pooled_cpu_allocator` picks TensorFlow's CPU allocator, also fixed at start-up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import warnings
from typing import Iterator

# Lines TensorFlow's C++ runtime and transformers print on every start that tell a user
# nothing actionable on a CPU-only or GPU machine. Anything not matched here is replayed.
_NOISE = re.compile(
    "|".join(
        [
            r"All log messages before absl::InitializeLog",
            r"cudart_stub\.cc",
            r"cuda_platform\.cc.*cuInit",
            r"cuda_(dnn|fft|blas)\.cc.*Unable to register",
            r"computation_placer\.cc",
            r"cpu_feature_guard\.cc",
            r"To enable the following instructions",
            r"oneDNN custom operations are on",
            r"oneDNN supports DT_\w+ only on platforms with",  # x86 without AVX-512, on the first int64 op
            r"TF-TRT Warning",
            r"Could not find cuda drivers",
            r"Could not find TensorRT",
            r"TensorFlow and JAX classes are deprecated",
        ]
    )
)


def use_legacy_keras() -> None:
    """Makes ``tf.keras`` resolve to Keras 2 (tf-keras) if TensorFlow has not bound it yet.

    It only sets ``TF_USE_LEGACY_KERAS``, which TensorFlow reads when ``tf.keras`` is first
    touched, and checks nothing: the client helpers (``tfft.serving.client``, ``tfft.tasks.qa.client``)
    build no Keras model and must work in a process whose TensorFlow already bound Keras 3.
    What builds or trains a model calls :func:`require_legacy_keras`.
    """
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def require_legacy_keras() -> None:
    """:func:`use_legacy_keras`, then raises if it is too late (``tfft.api``, ``tfft.models``,
    ``tfft.training`` and the CLI call it when they load).

    Raises:
        ImportError: TensorFlow was already imported and bound ``tf.keras`` to Keras 3.
    """
    use_legacy_keras()
    if "tensorflow" not in sys.modules:
        return
    import tensorflow as tf

    if not tf.keras.__name__.startswith("tf_keras"):
        raise ImportError(
            "tfft needs Keras 2 (tf-keras) but TensorFlow was imported first and bound "
            f"tf.keras to Keras 3 (received tf.keras={tf.keras.__name__}). Import tfft "
            "before tensorflow, or set TF_USE_LEGACY_KERAS=1 before starting Python, "
            "then restart the process (in a notebook: restart the kernel)."
        )


def use_pooled_cpu_allocator() -> None:
    """Makes TensorFlow keep and reuse its CPU tensor memory (``TF_CPU_ALLOCATOR_USE_BFC``).

    Which allocator TensorFlow uses for CPU tensors otherwise depends on the machine. Where
    oneDNN is off (x86 CPUs without AVX-512 VNNI / BF16 or AMX, and others), it is the C
    library's ``malloc``, which hands every block over 32 MB straight back to the kernel
    when it is freed. A BERT train step at batch 8 x 512 tokens frees and reallocates
    gigabytes of such blocks (each attention score tensor is 100 MB), and every page of
    them is faulted in and zeroed again on the next step: measured on such a 2-core
    machine, a MiniLM step took 10.4 s that way and 4.3 s with TensorFlow's pooling (BFC)
    allocator, and a tfft epoch of IMDB-like reviews 18.6-22.7 s against 14.4-15.8 s.
    Where oneDNN is on by default, its own allocator already pools large blocks, and the
    pool changes little. A value the user set is kept (``TF_CPU_ALLOCATOR_USE_BFC=false``
    turns the pool off). Too late once TensorFlow has made its first CPU tensor.
    """
    os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")


def is_noise(line: str) -> bool:
    """True for a known, harmless start-up line from TensorFlow or transformers."""
    return bool(_NOISE.search(line))


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Captures file descriptor 2 (C++ logs bypass ``sys.stderr``) and replays non-noise lines."""
    fd = 2  # TensorFlow's C++ logging writes here, whatever notebooks or pytest made of sys.stderr
    try:
        saved = os.dup(fd)
    except OSError:  # no descriptor 2 at all
        yield
        return
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode("utf-8", "replace").splitlines():
                if line.strip() and not is_noise(line):
                    print(line, file=sys.stderr)


def quiet_libraries() -> None:
    """Silences the Python-level warnings TensorFlow and transformers print on every run."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*TensorFlow and JAX classes are deprecated.*")
    # In a Jupyter kernel without ipywidgets, transformers' `import tqdm.auto` warns once per kernel.
    warnings.filterwarnings("ignore", message="IProgress not found")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # pragma: no cover - absl is a dependency
        pass
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    # huggingface_hub logs a warning per failed HTTP retry; tfft reports the failure itself.
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow and finds its devices with the known start-up lines filtered out."""
    if "tensorflow" in sys.modules:
        return
    with filtered_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()
