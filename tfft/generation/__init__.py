"""Text generation for seq2seq tasks: XLA-compiled beam search with n-gram blocking."""
