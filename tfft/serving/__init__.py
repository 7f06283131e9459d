"""TF Serving: SavedModel export in its layout (and, later, request helpers)."""
