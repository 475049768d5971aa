"""Training loop and hyperparameter search."""
