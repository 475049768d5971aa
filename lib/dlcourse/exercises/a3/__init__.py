"""Assignment 3: convolutional networks."""
