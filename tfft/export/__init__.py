"""SavedModel export in the TF Serving layout."""
