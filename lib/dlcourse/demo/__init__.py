"""The interim main job (``make demo``): train, gradient-check and time the references.

Run it with ``python -m dlcourse.demo``. It trains a small convolutional network built
from the NumPy layers on the embedded digits dataset, gradient-checks every layer, and
measures how much faster the vectorized convolution is than the loop version.
"""
