"""Check specs of ``transfer.ipynb``: the lectures' table as a strategy code, the small CNN,
a frozen feature extractor, what still trains, and discriminative learning rates.

Channels, widths, depths, class counts and learning rates are drawn per case, so a
solution that hard-codes the notebook's network fails. The references are
``dlcourse.exercises.a4.transfer``.
"""

from __future__ import annotations

import numpy as np

from autograder.specs import exercise
from autograder.specs.modules import argument_inputs, module_inputs
from dlcourse.exercises.a4 import transfer as ex

Inputs = dict[str, np.ndarray]


def _strategy_inputs(rng: np.random.Generator) -> Inputs:
    n = int(rng.integers(8, 16))
    threshold = int(rng.integers(50, 5000))
    num_images = rng.integers(1, 2 * threshold, size=n)
    num_images[:2] = (threshold, threshold - 1)  # the boundary belongs to "a lot of data"
    similar = rng.random(n) < 0.5
    similar[:4] = (True, False, True, False)  # every cell of the table appears
    num_images[2:4] = (threshold - 1, threshold)
    return {"num_images": num_images, "similar": similar, "threshold": np.array(threshold)}


def _architecture(rng: np.random.Generator) -> dict[str, object]:
    widths = tuple(int(w) for w in rng.integers(2, 6, size=int(rng.integers(2, 4))))
    return {
        "in_channels": int(rng.integers(1, 4)),
        "widths": widths,
        "num_classes": int(rng.integers(2, 6)),
    }


def _cnn_inputs(rng: np.random.Generator) -> Inputs:
    args = _architecture(rng)
    x_shape = (int(rng.integers(2, 4)), args["in_channels"], 8, 8)
    return module_inputs(ex.SmallCNN, rng, args, x_shape, backward=True)


def _cnn_params_inputs(rng: np.random.Generator) -> Inputs:
    return argument_inputs(_architecture(rng))


def _with_depth(rng: np.random.Generator) -> dict[str, object]:
    args = _architecture(rng)
    widths = args["widths"]
    assert isinstance(widths, tuple)
    args["depth"] = int(rng.integers(1, len(widths) + 1))  # an earlier layer, or the top
    return args


def _frozen_inputs(rng: np.random.Generator) -> Inputs:
    args = _with_depth(rng)
    x_shape = (int(rng.integers(3, 5)), args["in_channels"], 8, 8)
    # Training mode: the frozen blocks' batch norms must still use their running statistics.
    return module_inputs(ex.FrozenFeatures, rng, args, x_shape, backward=True, training=True)


def _trainable_inputs(rng: np.random.Generator) -> Inputs:
    args = _with_depth(rng)
    return {name: np.asarray(value) for name, value in args.items()}


def _rate_inputs(rng: np.random.Generator) -> Inputs:
    inputs = {name: np.asarray(value) for name, value in _architecture(rng).items()}
    inputs["base_lr"] = np.array(10.0 ** rng.uniform(-4, -1))
    inputs["decay"] = np.array(rng.uniform(0.1, 0.8))
    return inputs


SPECS = [
    exercise(
        "choose_strategy_test",
        "call",
        _strategy_inputs,
        ex.choose_strategy,
        hint="choose_strategy (section 1): a task has a lot of data when num_images >= "
        "threshold; the code is 2 * (not similar) + (a lot of data): 0 linear classifier "
        "on the top features, 1 fine-tune, 2 linear classifier on earlier features, 3 "
        "fine-tune many layers or train from scratch.",
    ),
    exercise(
        "small_cnn_test",
        "module_backward",
        _cnn_inputs,
        ex.SmallCNN,
        hint="SmallCNN (section 2): one block per width in self.features, each "
        "nn.Sequential(Conv2d 3x3 with padding=1 and bias=False, BatchNorm2d, ReLU, "
        "MaxPool2d(2)); then the mean over the two spatial axes and self.head = "
        "nn.Linear(widths[-1], num_classes).",
    ),
    exercise(
        "small_cnn_params_test",
        "module_params",
        _cnn_params_inputs,
        ex.SmallCNN,
        hint="SmallCNN (section 2): the convolutions have no bias; each batch norm has a "
        "weight and a bias per channel; the head is nn.Linear(widths[-1], num_classes).",
    ),
    exercise(
        "frozen_features_test",
        "module_backward",
        _frozen_inputs,
        ex.FrozenFeatures,
        hint="FrozenFeatures (section 3): build only the first depth blocks, call "
        "self.features.requires_grad_(False) (the head stays trainable), and override "
        "train(mode) so that self.features is put back in eval mode after "
        "super().train(mode). Do not use torch.no_grad() or detach() in forward.",
    ),
    exercise(
        "trainable_parameters_test",
        "call",
        _trainable_inputs,
        ex.trainable_parameters,
        hint="trainable_parameters (section 3): add up p.numel() over the parameters p "
        "of the model with p.requires_grad; only the head's weight and bias should count.",
    ),
    exercise(
        "learning_rates_test",
        "call",
        _rate_inputs,
        ex.learning_rates,
        hint="param_groups (section 4): one group per block of model.features, then one "
        "for model.head; the head gets base_lr, and every block decay times the rate of "
        "the layer above it (the block nearest the input gets the smallest rate).",
    ),
]
