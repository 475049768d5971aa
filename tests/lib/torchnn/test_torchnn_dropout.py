"""Dropout (both forms), DropConnectLinear and StochasticDepth against torch and torchvision.

Where torch draws its mask with the same call (``nn.Dropout`` on the CPU,
``torchvision.ops.stochastic_depth`` everywhere) one seed must give identical outputs;
elsewhere (torch's fused CUDA dropout kernel) both outputs must follow the formula given
their masks, and the drop rates must match ``p`` within a tolerance derived from the
sample size (6 standard deviations of a binomial proportion).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn
from torchvision_oracle import import_torchvision

from dlcourse.torchnn import DropConnectLinear, Dropout, StochasticDepth

DT = torch.float64


def _within_binomial(fraction: float, p: float, n: int) -> bool:
    """Is an observed fraction of ``n`` Bernoulli(p) trials within 6 standard deviations?"""
    return abs(fraction - p) <= 6 * math.sqrt(p * (1 - p) / n)


# --------------------------------------------------------------------------- dropout


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_inverted_dropout_equals_nn_dropout_under_one_seed_on_cpu(p):
    """On the CPU, does one seed give nn.Dropout's output and input gradient, bit for bit?"""
    x = (torch.randn(30, 20, dtype=DT) + 2).requires_grad_()
    torch.manual_seed(5)
    out = Dropout(p)(x)
    torch.manual_seed(5)
    expected = nn.Dropout(p)(x)
    assert torch.equal(out, expected)
    dout = torch.randn_like(out)
    (dx,) = torch.autograd.grad(out, x, dout)
    (expected_dx,) = torch.autograd.grad(expected, x, dout)
    assert torch.equal(dx, expected_dx)


@pytest.mark.parametrize("module", [lambda p: Dropout(p), lambda p: nn.Dropout(p)])
def test_dropout_follows_the_inverted_formula_and_drop_rate_on_device(device, module):
    """Given its own mask, is train output x * mask / (1 - p), with a fraction p dropped,
    for ours and for torch's (whose CUDA kernel draws differently)?"""
    torch.manual_seed(6)
    p = 0.3
    x = torch.rand(200, 100, dtype=DT, device=device) + 1  # nonzero: zeros mark drops
    out = module(p)(x)
    kept = out != 0
    torch.testing.assert_close(out, torch.where(kept, x / (1 - p), 0.0), rtol=1e-15, atol=0)
    assert _within_binomial(1 - kept.double().mean().item(), p, x.numel())


def test_eval_mode_is_identity_for_inverted_and_scales_by_keep_probability_otherwise(device):
    """Eval: inverted returns x as nn.Dropout does; the original form returns (1 - p) * x."""
    x = torch.randn(4, 5, dtype=DT, device=device)
    torch.testing.assert_close(Dropout(0.4).eval()(x), nn.Dropout(0.4).eval()(x))
    torch.testing.assert_close(Dropout(0.4, inverted=False).eval()(x), 0.6 * x)


def test_original_dropout_does_not_scale_at_train_time_and_matches_eval_in_expectation(device):
    """Train with inverted=False: kept units unchanged; the mean of out / x is 1 - p."""
    torch.manual_seed(7)
    p = 0.25
    x = torch.rand(400, 100, dtype=DT, device=device) + 1
    out = Dropout(p, inverted=False)(x)
    kept = out != 0
    assert torch.equal(out[kept], x[kept])
    ratio = (out / x).mean().item()  # each term is 0 or 1: a binomial proportion
    assert _within_binomial(ratio, 1 - p, x.numel())


@pytest.mark.parametrize("inverted", [True, False])
def test_dropout_with_fixed_mask_passes_gradcheck(device, inverted):
    """With the mask fixed by reseeding, do finite differences confirm dx?"""
    x = torch.randn(3, 4, dtype=DT, device=device, requires_grad=True)
    drop = Dropout(0.5, inverted=inverted)

    def forward(x):
        torch.manual_seed(8)  # the same mask at every evaluation
        return drop(x)

    assert torch.autograd.gradcheck(forward, (x,))


def test_dropout_refuses_p_outside_zero_one():
    """Are p = 1 and p = -0.1 refused with a message naming p?"""
    for p in (1.0, -0.1):
        with pytest.raises(ValueError, match=r"p \(probability of dropping\)"):
            Dropout(p)


# --------------------------------------------------------------------------- DropConnect


def _dropconnect_and_linear(device, **kwargs):
    torch.manual_seed(9)
    ours = DropConnectLinear(6, 4, dtype=DT, device=device, **kwargs)
    torch.manual_seed(9)
    theirs = nn.Linear(6, 4, dtype=DT, device=device)
    return ours, theirs


def test_dropconnect_initializes_and_evaluates_like_nn_linear(device):
    """Same draws as nn.Linear under one seed, same state dict keys, eval output = nn.Linear's."""
    ours, theirs = _dropconnect_and_linear(device, p=0.3)
    assert torch.equal(ours.weight, theirs.weight) and torch.equal(ours.bias, theirs.bias)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = torch.randn(5, 6, dtype=DT, device=device)
    torch.testing.assert_close(ours.eval()(x), theirs(x), rtol=1e-12, atol=1e-14)
    original = DropConnectLinear(6, 4, p=0.3, inverted=False, dtype=DT, device=device)
    original.load_state_dict(theirs.state_dict())
    expected = F.linear(x, 0.7 * theirs.weight, theirs.bias)
    torch.testing.assert_close(original.eval()(x), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("inverted", [True, False])
def test_dropconnect_train_equals_linear_with_masked_weight_and_its_gradients(device, inverted):
    """Given the mask: output and dx of nn.Linear with weight * mask (/ (1 - p)), and
    dweight that linear's gradient times the mask's multiplier (zero where dropped)?"""
    p = 0.4
    ours, theirs = _dropconnect_and_linear(device, p=p, inverted=inverted)
    mask = torch.empty(4, 6, dtype=DT, device=device).bernoulli_(1 - p)
    multiplier = mask / (1 - p) if inverted else mask
    with torch.no_grad():
        theirs.weight.mul_(multiplier)
    x = torch.randn(5, 6, dtype=DT, device=device, requires_grad=True)
    out, expected = ours(x, mask), theirs(x)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-14)
    dout = torch.randn_like(out)
    dx, dw, db = torch.autograd.grad(out, [x, ours.weight, ours.bias], dout)
    edx, edw, edb = torch.autograd.grad(expected, [x, theirs.weight, theirs.bias], dout)
    torch.testing.assert_close(dx, edx, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(dw, edw * multiplier, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(db, edb, rtol=1e-12, atol=1e-14)


def test_dropconnect_mask_drops_a_fraction_p_of_weights_and_preserves_expectation(device):
    """Over many draws: a fraction p of weights dropped, and the mean train output equals the
    eval output within 6 standard errors of the per-draw outputs."""
    torch.manual_seed(10)
    p, draws = 0.3, 4000
    layer = DropConnectLinear(6, 4, p=p, dtype=DT, device=device)
    x = torch.randn(2, 6, dtype=DT, device=device)
    outs = torch.stack([layer(x) for _ in range(draws)])  # (draws, 2, 4)
    dropped = torch.stack([layer.effective_weight() == 0 for _ in range(200)]).double().mean()
    assert _within_binomial(dropped.item(), p, 200 * layer.weight.numel())
    expected = layer.eval()(x)
    stderr = outs.std(dim=0) / math.sqrt(draws)
    assert torch.all((outs.mean(dim=0) - expected).abs() <= 6 * stderr)


def test_dropconnect_with_fixed_mask_passes_gradcheck(device):
    """Do finite differences confirm dx, dweight, dbias with a given mask?"""
    torch.manual_seed(11)
    layer = DropConnectLinear(4, 3, p=0.5, dtype=DT, device=device)
    mask = torch.empty(3, 4, dtype=DT, device=device).bernoulli_(0.5)
    x = torch.randn(2, 4, dtype=DT, device=device, requires_grad=True)
    weight = layer.weight.detach().clone().requires_grad_()
    bias = layer.bias.detach().clone().requires_grad_()

    def forward(x, weight, bias):
        params = {"weight": weight, "bias": bias}
        return torch.func.functional_call(layer, params, (x,), {"mask": mask})

    assert torch.autograd.gradcheck(forward, (x, weight, bias))


def test_dropconnect_refuses_mask_of_wrong_shape():
    """Is a (6, 4) mask for a (4, 6) weight refused, naming the shape expected?"""
    layer = DropConnectLinear(6, 4)
    with pytest.raises(ValueError, match=r"mask must have the weight's shape \(M, D\)"):
        layer(torch.zeros(2, 6), torch.ones(6, 4))


# --------------------------------------------------------------------------- stochastic depth


@pytest.mark.parametrize("mode", ["row", "batch"])
@pytest.mark.parametrize("p", [0.0, 0.3, 0.7, 1.0])
def test_stochastic_depth_equals_torchvision_under_one_seed(device, mode, p):
    """Does one seed give torchvision.ops.stochastic_depth's output and gradient exactly?"""
    ops = import_torchvision().ops
    x = torch.randn(16, 3, 2, 2, dtype=DT, device=device, requires_grad=True)
    torch.manual_seed(12)
    out = StochasticDepth(p, mode)(x)
    torch.manual_seed(12)
    expected = ops.stochastic_depth(x, p, mode, training=True)
    assert torch.equal(out, expected)
    dout = torch.randn_like(out)
    assert torch.equal(
        torch.autograd.grad(out, x, dout)[0], torch.autograd.grad(expected, x, dout)[0]
    )
    module = StochasticDepth(p, mode).eval()
    assert torch.equal(module(x), ops.stochastic_depth(x, p, mode, training=False))


def test_stochastic_depth_row_mode_drops_whole_examples_at_rate_p(device):
    """Row mode: each example zero or x / (1 - p) as a whole, a fraction p of them zero."""
    torch.manual_seed(13)
    p = 0.3
    x = torch.rand(3000, 2, 3, dtype=DT, device=device) + 1
    out = StochasticDepth(p, "row")(x)
    kept = (out != 0).flatten(1)
    assert torch.all(kept.all(dim=1) | (~kept).all(dim=1))
    rows = kept.all(dim=1)
    torch.testing.assert_close(out[rows], x[rows] / (1 - p), rtol=1e-15, atol=0)
    assert _within_binomial(1 - rows.double().mean().item(), p, x.shape[0])


def test_stochastic_depth_batch_mode_drops_the_whole_batch_at_rate_p(device):
    """Batch mode: the whole batch is zero or scaled together, zero in a fraction p of calls."""
    torch.manual_seed(14)
    p, calls = 0.4, 2000
    layer = StochasticDepth(p, "batch")
    x = torch.rand(4, 3, dtype=DT, device=device) + 1
    dropped = 0
    for _ in range(calls):
        out = layer(x)
        if torch.all(out == 0):
            dropped += 1
        else:
            torch.testing.assert_close(out, x / (1 - p), rtol=1e-15, atol=0)
    assert _within_binomial(dropped / calls, p, calls)


def test_stochastic_depth_with_fixed_draw_passes_gradcheck(device):
    """With the draws fixed by reseeding, do finite differences confirm dx?"""
    x = torch.randn(6, 3, dtype=DT, device=device, requires_grad=True)
    layer = StochasticDepth(0.5, "row")

    def forward(x):
        torch.manual_seed(15)
        return layer(x)

    assert torch.autograd.gradcheck(forward, (x,))


def test_stochastic_depth_refuses_unknown_mode_and_p_above_one():
    """Are mode='column' and p=1.5 refused, naming the argument?"""
    with pytest.raises(ValueError, match="mode must be 'row' or 'batch'"):
        StochasticDepth(0.1, "column")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"p \(probability of dropping\) must be in \[0, 1\]"):
        StochasticDepth(1.5)
