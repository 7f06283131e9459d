"""Loading pretrained Hugging Face TF models and wrapping them for Keras."""
