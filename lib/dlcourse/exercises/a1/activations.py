"""``activations.ipynb``: forward ``(x, ...) -> (out, cache)`` and backward ``(dout, cache)``.

The notebook's signatures are the library's, so the references are
:mod:`dlcourse.functional.activations` itself.
"""

from dlcourse.functional.activations import (
    elu_backward,
    elu_forward,
    gelu_backward,
    gelu_forward,
    leaky_relu_backward,
    leaky_relu_forward,
    maxout_backward,
    maxout_forward,
    prelu_backward,
    prelu_forward,
    relu_backward,
    relu_forward,
    selu_backward,
    selu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)

__all__ = [
    "elu_backward",
    "elu_forward",
    "gelu_backward",
    "gelu_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "maxout_backward",
    "maxout_forward",
    "prelu_backward",
    "prelu_forward",
    "relu_backward",
    "relu_forward",
    "selu_backward",
    "selu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "tanh_backward",
    "tanh_forward",
]
