"""Reading examples, tokenizing, and tf.data batching."""
