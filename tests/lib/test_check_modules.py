"""The PyTorch module call patterns: the student's class, loaded with the trusted weights.

The oracle for every pattern is PyTorch itself, written out in the test: a block computed
with ``torch.nn.functional`` on the same weights (float64), its gradients by autograd and
checked by finite differences (``torch.autograd.gradcheck``). A module that differs only
in its names, in one layer, or in what it returns must be caught with a message that says
what to fix.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.specs.modules import argument_inputs, module_inputs, shape_inputs
from dlcourse.checks.calls import CALLS, ResultError, StudentCodeError, expected_output_names
from dlcourse.checks.modules import DEVICE_VARIABLE, state_key, state_name


class Block(nn.Module):
    """conv3x3 -> BN -> ReLU, plus a 1x1 projection shortcut: the shape of a graded block."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn1(self.conv1(x))) + self.shortcut(x)


def _functional(inputs: dict[str, object], x: torch.Tensor) -> torch.Tensor:
    """Block's output written with torch.nn.functional on the case's weights (the oracle)."""
    w = {state_key(k): torch.as_tensor(v) for k, v in inputs.items() if k.startswith("state_")}
    stride = int(inputs["arg_stride"])
    a = F.conv2d(x, w["conv1.weight"], stride=stride, padding=1)
    a = F.batch_norm(
        a, w["bn1.running_mean"], w["bn1.running_var"], w["bn1.weight"], w["bn1.bias"], False
    )
    return torch.relu(a) + F.conv2d(x, w["shortcut.weight"], w["shortcut.bias"], stride=stride)


def _case(seed: int = 0, backward: bool = True, training: bool = False) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    args = {"in_channels": 3, "out_channels": 4, "stride": 2}
    return module_inputs(Block, rng, args, (2, 3, 7, 7), backward=backward, training=training)


def test_state_names_round_trip_and_are_case_file_names():
    assert state_name("layer1.0.conv1.weight") == "state_layer1__0__conv1__weight"
    assert state_key(state_name("layer1.0.conv1.weight")) == "layer1.0.conv1.weight"


def test_trusted_weights_are_drawn_from_the_case_generator_and_make_norms_non_trivial():
    first, again, other = _case(0), _case(0), _case(1)
    assert first.keys() == again.keys()
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not np.array_equal(first["state_conv1__weight"], other["state_conv1__weight"])
    # A fresh BatchNorm is the identity in eval mode; the drawn one is not.
    assert not np.allclose(first["state_bn1__running_var"], 1.0)
    assert not np.allclose(first["state_bn1__weight"], 1.0)
    assert np.any(first["state_shortcut__bias"] != 0)
    assert first["dout"].shape == (2, 4, 4, 4)


def test_module_forward_matches_the_functional_oracle():
    inputs = _case(backward=False)
    got = CALLS["module_forward"]([Block], inputs)
    expected = _functional(inputs, torch.from_numpy(inputs["x"]))
    np.testing.assert_allclose(got["out"], expected.numpy(), rtol=1e-12, atol=1e-12)
    assert expected_output_names("module_forward", list(inputs)) == ("out",)


def test_module_backward_gives_autograds_input_and_parameter_gradients():
    inputs = _case()
    got = CALLS["module_backward"]([Block], inputs)
    x = torch.from_numpy(inputs["x"]).requires_grad_(True)
    weights = {
        state_key(k): torch.from_numpy(v).requires_grad_(True)
        for k, v in inputs.items()
        if k.startswith("state_") and "running" not in k and "num_batches" not in k
    }
    case = {**inputs, **{state_name(k): v for k, v in weights.items()}}

    def oracle(x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        named = dict(zip(weights, params, strict=True))
        return _functional({**case, **{state_name(k): v for k, v in named.items()}}, x)

    out = oracle(x, *weights.values())
    out.backward(torch.from_numpy(inputs["dout"]))
    np.testing.assert_allclose(got["out"], out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["dx"], x.grad.numpy(), rtol=1e-10, atol=1e-12)
    for key, tensor in weights.items():
        name = "grad_" + key.replace(".", "__")
        np.testing.assert_allclose(got[name], tensor.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert set(got) == {"out", "dx", *("grad_" + k.replace(".", "__") for k in weights)}
    # Autograd's gradients agree with finite differences on the same weights.
    probe = torch.from_numpy(inputs["x"][:1]).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda v: oracle(v, *weights.values()), (probe,))


def test_training_mode_uses_batch_statistics():
    inputs = _case(backward=False, training=True)
    got = CALLS["module_forward"]([Block], inputs)["out"]
    evaluated = CALLS["module_forward"]([Block], {**inputs, "training": np.asarray(0)})["out"]
    x = torch.from_numpy(inputs["x"])
    w = {state_key(k): torch.from_numpy(v) for k, v in inputs.items() if k.startswith("state_")}
    a = F.conv2d(x, w["conv1.weight"], stride=2, padding=1)
    a = F.batch_norm(a, None, None, w["bn1.weight"], w["bn1.bias"], True)
    expected = torch.relu(a) + F.conv2d(x, w["shortcut.weight"], w["shortcut.bias"], stride=2)
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-10, atol=1e-12)
    assert not np.allclose(got, evaluated)


def test_parameter_count_and_output_shape_are_their_own_cases():
    args = {"in_channels": 3, "out_channels": 5, "stride": 2}
    count = CALLS["module_params"]([Block], argument_inputs(args))["count"]
    assert int(count) == 5 * 3 * 9 + 2 * 5 + 5 * 3 + 5  # conv1, bn1 (gamma, beta), shortcut
    shape = CALLS["module_shape"]([Block], shape_inputs(args, (2, 3, 9, 8)))["shape"]
    assert shape.tolist() == [2, 5, 5, 4]


class Renamed(Block):
    """Block with the projection under another name: the weights cannot be loaded."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, stride)
        self.projection = self.shortcut
        del self.shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn1(self.conv1(x))) + self.projection(x)


class WrongKernel(Block):
    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, stride)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 5, stride, 2, bias=False)


class ReturnsNumbers(Block):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return "not a tensor"  # type: ignore[return-value]


def test_other_names_are_listed_so_the_student_knows_what_to_rename():
    with pytest.raises(
        ResultError,
        match=r"missing shortcut.bias, shortcut.weight.*unexpected "
        r"projection.bias, projection.weight",
    ):
        CALLS["module_forward"]([Renamed], _case(backward=False))


def test_a_layer_of_the_wrong_shape_is_named_with_both_shapes():
    with pytest.raises(ResultError, match=r"conv1.weight \(4, 3, 5, 5\) instead of \(4, 3, 3, 3\)"):
        CALLS["module_forward"]([WrongKernel], _case(backward=False))


def test_what_is_not_a_module_or_not_a_tensor_is_refused():
    with pytest.raises(ResultError, match="not a torch.nn.Module"):
        CALLS["module_forward"]([lambda **kwargs: 3], _case(backward=False))
    with pytest.raises(ResultError, match="returned a str, not a tensor"):
        CALLS["module_forward"]([ReturnsNumbers], _case(backward=False))


def test_an_exception_in_the_students_constructor_is_the_students():
    def broken(**kwargs: object) -> nn.Module:
        raise KeyError("oops")

    with pytest.raises(StudentCodeError) as caught:
        CALLS["module_params"]([broken], argument_inputs({"in_channels": 1}))
    assert isinstance(caught.value.error, KeyError)


def test_a_mistake_in_the_block_changes_the_outputs():
    class NoShortcut(Block):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.bn1(self.conv1(x)))

    inputs = _case()
    reference = CALLS["module_backward"]([Block], inputs)
    wrong = CALLS["module_backward"]([NoShortcut], inputs)
    assert not np.allclose(reference["out"], wrong["out"])
    assert np.all(wrong["grad_shortcut__weight"] == 0)


def test_the_patterns_agree_on_cpu_and_the_device(device, monkeypatch):
    # CPU and GPU verdicts agree: the same case on both devices, within 1e-10.
    inputs = _case()
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    on_cpu = CALLS["module_backward"]([Block], inputs)
    monkeypatch.setenv(DEVICE_VARIABLE, device)
    on_device = CALLS["module_backward"]([Block], inputs)
    assert on_cpu.keys() == on_device.keys()
    for name, value in on_cpu.items():
        np.testing.assert_allclose(on_device[name], value, rtol=1e-10, atol=1e-12)
