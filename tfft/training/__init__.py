"""Strategy, optimizer, callbacks."""
