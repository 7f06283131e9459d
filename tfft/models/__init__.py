"""Loading pretrained Hugging Face TF models and wrapping them for Keras."""

from tfft import _env

_env.require_legacy_keras()  # these modules subclass tf.keras classes when they load
