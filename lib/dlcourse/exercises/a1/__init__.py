"""Assignment 1: perceptron, losses, activations, backpropagation (one module each)."""
