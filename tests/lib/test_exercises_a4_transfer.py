"""References of ``transfer.ipynb`` (``dlcourse.exercises.a4.transfer``).

Oracles: the lectures' table written out as a lookup, the small CNN written with
``torch.nn.functional`` in float64, closed-form parameter counts, a finite-difference
gradient check, and an SGD step that shows which learning rate each parameter really
gets. The module patterns are run on the specs' own cases too, with the notebook's
partial solutions: each must fail its check.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.specs import load_specs, make_case_inputs, reference_outputs
from autograder.specs.modules import reference_module
from dlcourse.checks.calls import CALLS
from dlcourse.exercises.a4 import transfer as ex

SPECS = Path(__file__).resolve().parents[2] / "solutions" / "a4" / "transfer.specs.py"

TABLE = {  # (similar, a lot of data) -> the lectures' advice
    (True, False): ex.LINEAR_ON_TOP,
    (True, True): ex.FINE_TUNE,
    (False, False): ex.LINEAR_ON_EARLY,
    (False, True): ex.FINE_TUNE_ALL,
}


def test_choose_strategy_looks_up_the_lectures_table():
    rng = np.random.default_rng(3)
    num_images = rng.integers(1, 2000, size=50)
    num_images[:2] = (1000, 999)
    similar = rng.random(50) < 0.5
    expected = [TABLE[(bool(s), int(n) >= 1000)] for n, s in zip(num_images, similar, strict=True)]
    codes = ex.choose_strategy(num_images, similar, 1000)
    assert codes.dtype == np.int64
    np.testing.assert_array_equal(codes, expected)
    assert sorted(TABLE.values()) == [0, 1, 2, 3]


def _functional_cnn(x: torch.Tensor, state: dict[str, torch.Tensor], depth: int) -> torch.Tensor:
    """The notebook's network in evaluation mode, from its state_dict, in functional ops."""
    for i in range(depth):
        prefix = f"features.{i}."
        x = F.conv2d(x, state[prefix + "0.weight"], padding=1)
        x = F.batch_norm(
            x,
            state[prefix + "1.running_mean"],
            state[prefix + "1.running_var"],
            state[prefix + "1.weight"],
            state[prefix + "1.bias"],
            training=False,
            eps=1e-5,
        )
        x = F.max_pool2d(F.relu(x), 2)
    return F.linear(x.mean(dim=(2, 3)), state["head.weight"], state["head.bias"])


def _drawn(cls, args: dict, seed: int, device: str) -> nn.Module:
    """The module with random weights and batch-norm statistics, as the checks draw them."""
    return reference_module(cls, np.random.default_rng(seed), args).to(device)


@pytest.mark.parametrize("widths", [(3,), (4, 5), (2, 3, 4)])
def test_small_cnn_matches_functional_ops(widths: Sequence[int], device: str):
    torch.manual_seed(0)
    model = _drawn(ex.SmallCNN, {"in_channels": 2, "widths": widths, "num_classes": 3}, 1, device)
    model.eval()
    x = torch.randn(3, 2, 8, 8, dtype=torch.float64, device=device)
    state = model.state_dict()
    torch.testing.assert_close(
        model(x), _functional_cnn(x, state, len(widths)), rtol=1e-10, atol=1e-12
    )
    keys = {f"features.{i}.{j}.weight" for i in range(len(widths)) for j in (0, 1)}
    assert keys | {"head.weight", "head.bias"} <= set(state)
    assert "features.0.0.bias" not in state  # the conv has no bias: the BN shifts


def test_small_cnn_gradients_match_finite_differences():
    torch.manual_seed(1)
    model = _drawn(ex.SmallCNN, {"in_channels": 2, "widths": (3, 2), "num_classes": 2}, 2, "cpu")
    model.eval()
    x = torch.randn(2, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    params = tuple(model.parameters())
    state = model.state_dict()

    def forward(x, *values):
        named = dict(state)
        named.update(
            {name: v for (name, _), v in zip(model.named_parameters(), values, strict=True)}
        )
        return _functional_cnn(x, named, 2)

    inputs = (x, *(p.detach().clone().requires_grad_(True) for p in params))
    assert torch.autograd.gradcheck(forward, inputs)
    # The module's own backward agrees with the functional one.
    dout = torch.randn(2, 2, dtype=torch.float64)
    model(x).backward(dout)
    grads = torch.autograd.grad(forward(*inputs), inputs, dout)
    torch.testing.assert_close(x.grad, grads[0])
    for p, g in zip(params, grads[1:], strict=True):
        torch.testing.assert_close(p.grad, g)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_frozen_features_train_only_the_head_with_the_source_statistics(depth: int, device: str):
    torch.manual_seed(2)
    widths = (3, 4, 5)
    args = {"in_channels": 2, "widths": widths, "num_classes": 3, "depth": depth}
    model = _drawn(ex.FrozenFeatures, args, 4, device)
    state = {key: value.clone() for key, value in model.state_dict().items()}
    assert len(model.features) == depth and model.head.in_features == widths[depth - 1]
    model.train()
    assert model.training and model.head.training
    assert not any(layer.training for layer in model.features.modules())
    x = torch.randn(4, 2, 16, 16, dtype=torch.float64, device=device, requires_grad=True)
    out = model(x)
    # Training mode, yet the frozen batch norms normalise with the running statistics.
    torch.testing.assert_close(out, _functional_cnn(x, state, depth), rtol=1e-10, atol=1e-12)
    out.backward(torch.randn_like(out))
    assert all(p.grad is None for p in model.features.parameters())
    assert all(p.grad is not None for p in model.head.parameters())
    assert x.grad is not None and torch.any(x.grad != 0)  # frozen, not cut off
    for key, value in model.state_dict().items():
        if key.startswith("features."):
            torch.testing.assert_close(value, state[key])  # running statistics unchanged
    assert model.eval() is model and not model.training


def test_frozen_features_load_the_first_blocks_of_a_small_cnn():
    source = ex.SmallCNN(3, (4, 5, 6), 7)
    model = ex.FrozenFeatures(3, (4, 5, 6), 2, 2)
    model.features.load_state_dict(source.features[:2].state_dict())
    torch.testing.assert_close(model.features[1][0].weight, source.features[1][0].weight)


@pytest.mark.parametrize(
    ("in_channels", "widths", "num_classes", "depth"),
    [(3, (8, 16, 32), 4, 3), (1, (2, 5), 6, 1), (2, (3, 4, 5), 2, 2)],
)
def test_trainable_parameters_are_the_heads(in_channels, widths, num_classes, depth):
    expected = (widths[depth - 1] + 1) * num_classes
    assert ex.trainable_parameters(in_channels, np.array(widths), num_classes, depth) == expected


def test_learning_rates_decay_from_the_head_down():
    widths, base_lr, decay = (3, 4, 5), 0.01, 0.5
    # Per block: conv weight, BN weight, BN bias; block i at base_lr * decay ** (3 - i).
    expected = [base_lr * decay ** (3 - i) for i in range(3) for _ in range(3)]
    expected += [base_lr, base_lr]  # the head's weight and bias
    rates = ex.learning_rates(2, np.array(widths), 3, base_lr, decay)
    np.testing.assert_allclose(rates, expected, rtol=1e-12)


def test_param_groups_give_each_parameter_its_step_size():
    model = ex.SmallCNN(2, (3, 4), 2).double()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(ex.param_groups(model, 0.1, 0.25), lr=99.0)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    optimizer.step()
    after = list(model.parameters())
    steps = [float((b - a.detach()).flatten()[0]) for b, a in zip(before, after, strict=True)]
    np.testing.assert_allclose(steps, [0.1 * 0.25**2] * 3 + [0.1 * 0.25] * 3 + [0.1] * 2)
    grouped = [id(p) for group in optimizer.param_groups for p in group["params"]]
    assert sorted(grouped) == sorted(id(p) for p in model.parameters())


# --------------------------------------------------------------- through the checks


class _ForgetsBatchNorm(ex.SmallCNN):
    """Freezes the blocks but lets their batch norms run in training mode."""

    def __init__(self, in_channels, widths, num_classes, depth):
        super().__init__(in_channels, widths[:depth], num_classes)
        self.features.requires_grad_(False)


class _FreezesOnlyConvs(ex.FrozenFeatures):
    """Freezes the convolutions only: the batch norms' weights and biases still learn."""

    def __init__(self, in_channels, widths, num_classes, depth):
        super().__init__(in_channels, widths, num_classes, depth)
        for block in self.features:
            block[1].requires_grad_(True)


class _FreezesTheHead(ex.FrozenFeatures):
    def __init__(self, in_channels, widths, num_classes, depth):
        super().__init__(in_channels, widths, num_classes, depth)
        self.requires_grad_(False)


def _matches(test_id: str, fn) -> bool:
    """Whether ``fn`` passes all the spec's cases for one student (seeded)."""
    (spec,) = [s for s in load_specs(SPECS) if s.test_id == test_id]
    for case in range(3):
        inputs = make_case_inputs(spec, 7, "student-1", case)
        expected = reference_outputs(spec, inputs)
        got = CALLS[spec.call]([fn], inputs)
        if set(got) != set(expected) or not all(
            np.allclose(got[k], expected[k], rtol=spec.rtol, atol=spec.atol) for k in expected
        ):
            return False
    return True


def test_the_frozen_check_passes_the_reference_and_fails_each_freezing_bug():
    assert _matches("frozen_features_test", ex.FrozenFeatures)
    for wrong in (_ForgetsBatchNorm, _FreezesOnlyConvs, _FreezesTheHead):
        assert not _matches("frozen_features_test", wrong), wrong.__name__
