"""Task metrics computed over whole splits."""
