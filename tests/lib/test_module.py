"""Does the module layer find parameters, switch modes and round-trip its state?"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.nn.module import Module, Parameter, Sequential


class Scale(Module):
    """y = x * w elementwise; a minimal layer for exercising the module machinery."""

    def __init__(self, n: int) -> None:
        self.w = Parameter(np.arange(1.0, n + 1))
        self.running = np.zeros(n)

    _buffers = ("running",)

    def forward(self, x):
        self.x = x
        if self.training:
            self.running = self.running + 1
        return x * self.w.data

    def backward(self, dout):
        self.w.grad = (dout * self.x).sum(axis=0)
        return dout * self.w.data


def test_sequential_names_parameters_by_position():
    net = Sequential(Scale(2), Scale(2))
    assert [name for name, _ in net.named_parameters()] == ["0.w", "1.w"]
    assert net.num_parameters() == 4


def test_sequential_forward_and_backward_chain_the_layers():
    net = Sequential(Scale(2), Scale(2))
    x = np.array([[1.0, 1.0]])
    out = net.forward(x)
    np.testing.assert_allclose(out, [[1.0, 4.0]])
    dx = net.backward(np.ones_like(out))
    np.testing.assert_allclose(dx, [[1.0, 4.0]])
    np.testing.assert_allclose(net[0].w.grad, [1.0, 2.0])  # dout * x through layer 2


def test_eval_mode_reaches_every_child():
    net = Sequential(Scale(1), Sequential(Scale(1)))
    net.eval()
    assert not net[1][0].training
    net.train()
    assert net[1][0].training


def test_state_dict_round_trips_parameters_and_buffers():
    net = Sequential(Scale(2))
    net.forward(np.ones((1, 2)))
    state = net.state_dict()
    assert set(state) == {"0.w", "0.running"}
    net[0].w.data[:] = 0
    net[0].running = np.zeros(2)
    net.load_state_dict(state)
    np.testing.assert_allclose(net[0].w.data, [1.0, 2.0])
    np.testing.assert_allclose(net[0].running, [1.0, 1.0])


def test_load_state_dict_names_missing_keys_and_wrong_shapes():
    net = Sequential(Scale(2))
    with pytest.raises(ValueError, match=r"missing \['0.running'\]"):
        net.load_state_dict({"0.w": np.zeros(2)})
    with pytest.raises(ValueError, match=r"0.w: saved shape \(3,\)"):
        net.load_state_dict({"0.w": np.zeros(3), "0.running": np.zeros(2)})


def test_sequential_refuses_things_that_are_not_modules():
    with pytest.raises(TypeError, match="item 1 is ufunc, not a Module"):
        Sequential(Scale(1), np.tanh)
