"""Optimizers over Parameters, learning-rate schedules and the perceptron."""
