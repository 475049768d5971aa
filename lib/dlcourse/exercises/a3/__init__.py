"""Assignment 3: convolutional networks (one module per notebook)."""
