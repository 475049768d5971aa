"""NumPy reference implementations as pure forward/backward functions."""
