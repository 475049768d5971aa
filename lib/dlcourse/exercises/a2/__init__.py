"""Assignment 2: preprocessing, initialization, optimizers, regularization, hyperparameters."""
