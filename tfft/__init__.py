"""tfft: fine-tune pretrained transformers with TensorFlow and Keras, export for TF Serving.

Importing tfft makes ``tf.keras`` resolve to Keras 2 (tf-keras), which the Hugging Face
TF models need, and turns on TensorFlow's pooling CPU allocator; import it before TensorFlow.
Where TensorFlow came first and bound Keras 3, the Keras-backed API (``build_model``, ``run``,
...) raises an ImportError that says so; ``Config`` and the client helpers
(``tfft.serving.client``, ``tfft.tasks.qa.client``) need no Keras and still work.
"""

from tfft import _env

_env.use_legacy_keras()
_env.use_pooled_cpu_allocator()

from tfft.config import Config  # noqa: E402
from tfft.errors import TfftError  # noqa: E402

__version__ = "0.1.0"

_LAZY = {"datasets", "build_model", "evaluate", "predict", "calibrate", "reports", "export"}
_SUBPACKAGES = {"tasks"}  # light (no TensorFlow), loaded on first use: ``tfft.tasks.names()``


def __getattr__(name: str):
    """Loads the TensorFlow-backed API on first use, so ``import tfft`` stays light."""
    if name in _LAZY:
        from tfft import api

        return getattr(api, name)
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f"tfft.{name}")
    if name == "run":
        from tfft.dispatch import run

        return run
    if name in ("tune", "lr_find"):
        from tfft import tuning

        return getattr(tuning, name)
    raise AttributeError(f"module 'tfft' has no attribute '{name}'")


__all__ = ["Config", "TfftError", "build_model", "calibrate", "datasets", "evaluate", "export", "lr_find",
           "predict", "reports", "run", "tasks", "tune"]
