"""Check specs of ``cnn.ipynb``: LeNet-5's sizes, the CONV-RELU-POOL sandwich, LeNet-5's
forward and backward passes, augmentation and the soft-label loss.

Sizes, channels and class counts are drawn per case, so a solution that hard-codes the
32x32 RGB setting of the notebook fails. The references are
``dlcourse.exercises.a3.cnn``.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from autograder.specs import exercise
from dlcourse.exercises.a3 import cnn as ex

Inputs = dict[str, np.ndarray]


# --------------------------------------------------------------------------- inputs


def _shape_inputs(rng: np.random.Generator) -> Inputs:
    # An odd height makes C1's output odd, so S2 must round down (as pooling does).
    height = 2 * int(rng.integers(8, 32)) + 1
    return {"height": np.array(height), "width": np.array(int(rng.integers(16, 65)))}


def _param_inputs(rng: np.random.Generator) -> Inputs:
    inputs = _shape_inputs(rng)
    inputs["in_channels"] = np.array(int(rng.integers(1, 5)))
    inputs["num_classes"] = np.array(int(rng.integers(2, 21)))
    return {name: inputs[name] for name in ("in_channels", "height", "width", "num_classes")}


def _he(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)


def _sandwich_inputs(rng: np.random.Generator, with_dout: bool = False) -> Inputs:
    n, c, f = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(2, 6))
    k = int(rng.choice([3, 5]))
    h, w = (int(size) for size in rng.integers(k + 3, k + 10, size=2))
    inputs = {
        "x": rng.standard_normal((n, c, h, w)),
        "w": _he(rng, (f, c, k, k), c * k * k),
        "b": 0.3 * rng.standard_normal(f),
    }
    if with_dout:
        inputs["dout"] = rng.standard_normal((n, f, (h - k + 1) // 2, (w - k + 1) // 2))
    return inputs


def _lenet_inputs(rng: np.random.Generator, with_dout: bool = False) -> Inputs:
    n, c, k = int(rng.integers(2, 4)), int(rng.integers(1, 4)), int(rng.integers(3, 7))
    # 20..29 pixels leave S4 at least 2x2, so the flattening order matters.
    h, w = (int(size) for size in rng.integers(20, 30, size=2))
    _, num_features = ex.lenet5_shapes(h, w)
    inputs = {"x": rng.standard_normal((n, c, h, w))}
    shapes = [(6, c, 5, 5), (16, 6, 5, 5), (num_features, 120), (120, 84), (84, k)]
    for i, shape in enumerate(shapes, start=1):
        fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
        inputs[f"w{i}"] = _he(rng, shape, fan_in)
        inputs[f"b{i}"] = 0.1 * rng.standard_normal(shape[0] if len(shape) == 4 else shape[1])
    if with_dout:
        inputs["dout"] = rng.standard_normal((n, k))
    return inputs


def _images(rng: np.random.Generator) -> np.ndarray:
    n, c = int(rng.integers(3, 7)), int(rng.integers(1, 4))
    h, w = (int(size) for size in rng.integers(4, 9, size=2))
    return rng.random((n, c, h, w))


def _flip_inputs(rng: np.random.Generator) -> Inputs:
    x = _images(rng)
    flip = rng.random(len(x)) < 0.5
    flip[:2] = (True, False)  # some images flipped, some not
    return {"x": x, "flip": flip}


def _crop_inputs(rng: np.random.Generator) -> Inputs:
    x = _images(rng)
    pad = int(rng.integers(1, 4))
    top = rng.integers(0, 2 * pad + 1, size=len(x))
    left = rng.integers(0, 2 * pad + 1, size=len(x))
    top[0], left[0] = 0, 2 * pad  # the extreme offsets: top-left and right edge
    return {"x": x, "pad": np.array(pad), "top": top, "left": left}


def _mixup_inputs(rng: np.random.Generator) -> Inputs:
    x = _images(rng)
    n = len(x)
    num_classes = int(rng.integers(3, 8))
    y = rng.integers(0, num_classes, size=n)
    # A random cycle: every image has another image as its partner.
    order = rng.permutation(n)
    partner = np.empty(n, dtype=np.int64)
    partner[order] = np.roll(order, -1)
    if np.all(y[partner] == y):
        y[partner[0]] = (y[0] + 1) % num_classes  # at least one pair of different classes
    return {
        "x": x,
        "y": y,
        "num_classes": np.array(num_classes),
        "lam": np.array(rng.uniform(0.1, 0.9)),
        "partner": partner,
    }


def _soft_inputs(rng: np.random.Generator) -> Inputs:
    n, k = int(rng.integers(2, 7)), int(rng.integers(2, 8))
    return {
        "scores": 2.0 * rng.standard_normal((n, k)),
        "targets": rng.dirichlet(np.full(k, 0.5), size=n),
    }


SPECS = [
    exercise(
        "lenet5_shapes_test",
        "call",
        _shape_inputs,
        ex.lenet5_shapes,
        hint="lenet5_shapes (section 1): each 5x5 convolution (stride 1, no padding) "
        "takes 4 rows and columns off; each 2x2 pool with stride 2 halves the size "
        "ROUNDING DOWN (//). Return (maps, num_features) with maps of shape (4, 3).",
    ),
    exercise(
        "lenet5_num_params_test",
        "call",
        _param_inputs,
        ex.lenet5_num_params,
        hint="lenet5_num_params (section 1): a conv layer has (5*5*C_in + 1) * F "
        "parameters and a fully connected one (D + 1) * M: count every bias; the "
        "pooling layers have none; C5 sees num_features inputs.",
    ),
    exercise(
        "conv_relu_pool_forward_test",
        "forward",
        _sandwich_inputs,
        ex.conv_relu_pool_forward,
        hint="conv_relu_pool_forward (section 3): conv_forward(x, w, b) with stride 1 "
        "and no padding, then relu_forward, then max_pool_forward with 2x2 windows "
        "and stride 2; the kernel size comes from w's shape.",
    ),
    exercise(
        "conv_relu_pool_backward_test",
        "forward_backward",
        partial(_sandwich_inputs, with_dout=True),
        ex.conv_relu_pool_forward,
        ex.conv_relu_pool_backward,
        hint="conv_relu_pool_backward (section 3): the three backward passes in the "
        "opposite order (pool, ReLU, conv), each with its own cache; return (dx, dw, "
        "db).",
    ),
    exercise(
        "lenet5_forward_test",
        "forward",
        _lenet_inputs,
        ex.lenet5_forward,
        hint="lenet5_forward (section 4): two conv-relu-pool sandwiches, then flatten "
        "S4 with s4.reshape(N, -1) (channel, row, column order: no transpose), then "
        "fc-relu, fc-relu and a last fc without ReLU.",
    ),
    exercise(
        "lenet5_backward_test",
        "forward_backward",
        partial(_lenet_inputs, with_dout=True),
        ex.lenet5_forward,
        ex.lenet5_backward,
        hint="lenet5_backward (section 4): backpropagate through the layers in reverse "
        "order, reshape the gradient of the flat features back to S4's shape, and "
        "return (dx, dw1, db1, ..., dw5, db5) in this order.",
    ),
    exercise(
        "random_flip_test",
        "call",
        _flip_inputs,
        ex.random_flip,
        hint="random_flip (section 5): reverse the LAST axis (the columns) of the images "
        "where flip is True; leave the others unchanged.",
    ),
    exercise(
        "padded_crop_test",
        "call",
        _crop_inputs,
        ex.padded_crop,
        hint="padded_crop (section 5): zero-pad rows and columns by pad on every side, "
        "then take the H x W window whose top-left corner is (top[i], left[i]) in the "
        "padded image i.",
    ),
    exercise(
        "mixup_test",
        "call",
        _mixup_inputs,
        ex.mixup,
        hint="mixup (section 5): mixed = lam * x + (1 - lam) * x[partner], and the "
        "targets mix the one-hot labels the same way: lam * onehot(y) + (1 - lam) * "
        "onehot(y[partner]).",
    ),
    exercise(
        "soft_cross_entropy_loss_test",
        "loss",
        _soft_inputs,
        ex.soft_cross_entropy_loss,
        hint="soft_cross_entropy_loss (section 5): loss = -sum(targets * log_softmax) / N "
        "(a mean over the N examples, a sum over the classes); dscores = (softmax - "
        "targets) / N. Subtract each row's maximum before exp.",
    ),
]
