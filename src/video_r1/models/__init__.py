"""Model facts (a leaf layer: imports nothing else from the package)."""
