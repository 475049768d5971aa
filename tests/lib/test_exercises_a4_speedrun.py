"""The references of speedrun_net.ipynb and speedrun_gpu.ipynb against independent oracles.

The modules are checked against the network written out with torch's functional ops in
float64 (convolution, batch norm, ReLU, max pooling, the bias-free head), their gradients
with finite differences (``torch.autograd.gradcheck``); the parameter count against its
closed form; the channels-last strides against the formula and a real channels-last
tensor; the loss-scaling rule against a direct statement of it and against
``torch.amp.GradScaler`` driven through real overflowing steps. Where CUDA exists, the
graded module patterns give the same verdict on the GPU as on the CPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.specs.spec import load_specs
from dlcourse.checks.calls import CALLS
from dlcourse.checks.modules import DEVICE_VARIABLE
from dlcourse.exercises.a4 import speedrun_gpu as gpu_ex
from dlcourse.exercises.a4 import speedrun_net as ex

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions" / "a4"


def _randomise(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """float64, with random batch-norm affine parameters and running statistics."""
    gen = torch.Generator().manual_seed(seed)
    module = module.double()
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, torch.nn.BatchNorm2d):
                layer.weight.copy_(0.5 + torch.rand(layer.weight.shape, generator=gen))
                layer.bias.copy_(0.2 * torch.randn(layer.bias.shape, generator=gen))
                layer.running_mean.copy_(0.2 * torch.randn(layer.running_mean.shape, generator=gen))
                layer.running_var.copy_(0.5 + torch.rand(layer.running_var.shape, generator=gen))
    return module


def _conv_bn(x, state, prefix, pool, training):
    out = F.conv2d(x, state[f"{prefix}conv.weight"], padding=1)
    out = F.batch_norm(
        out,
        state[f"{prefix}bn.running_mean"].clone(),
        state[f"{prefix}bn.running_var"].clone(),
        state[f"{prefix}bn.weight"],
        state[f"{prefix}bn.bias"],
        training=training,
        eps=1e-5,
    )
    out = torch.clamp(out, min=0)
    return F.max_pool2d(out, 2, 2) if pool else out


def _residual(x, state, prefix, training=False):
    inner = _conv_bn(x, state, f"{prefix}res1.", False, training)
    return x + _conv_bn(inner, state, f"{prefix}res2.", False, training)


def _net(x, state, weight):
    out = _conv_bn(x, state, "prep.", False, False)
    out = _residual(_conv_bn(out, state, "layer1.0.", True, False), state, "layer1.1.")
    out = _conv_bn(out, state, "layer2.", True, False)
    out = _residual(_conv_bn(out, state, "layer3.0.", True, False), state, "layer3.1.")
    pooled = out.flatten(2).max(dim=2).values
    return weight * pooled @ state["fc.weight"].T


@pytest.mark.parametrize("pool", [False, True])
@pytest.mark.parametrize("training", [False, True])
def test_conv_bn_matches_functional_ops(device, pool, training):
    module = _randomise(ex.ConvBN(3, 5, pool=pool), seed=1).to(device).train(training)
    x = torch.randn(4, 3, 7, 6, dtype=torch.float64, device=device)
    state = {k: v.detach() for k, v in module.state_dict().items()}
    expected = _conv_bn(x, state, "", pool, training)
    torch.testing.assert_close(module(x), expected, rtol=1e-10, atol=1e-12)
    assert module(x).shape == ((4, 5, 3, 3) if pool else (4, 5, 7, 6))


def test_residual_matches_functional_ops(device):
    module = _randomise(ex.Residual(4), seed=2).to(device).eval()
    x = torch.randn(2, 4, 5, 6, dtype=torch.float64, device=device)
    state = {k: v.detach() for k, v in module.state_dict().items()}
    torch.testing.assert_close(module(x), _residual(x, state, ""), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("width", "classes", "channels", "size"), [(2, 10, 3, (32, 32)), (3, 4, 1, (9, 13))]
)
def test_speedrun_net_matches_functional_ops(device, width, classes, channels, size):
    net = ex.SpeedrunNet(width=width, num_classes=classes, in_channels=channels, weight=0.25)
    net = _randomise(net, seed=3).to(device).eval()
    x = torch.randn(3, channels, *size, dtype=torch.float64, device=device)
    state = {k: v.detach() for k, v in net.state_dict().items()}
    out = net(x)
    assert out.shape == (3, classes)
    torch.testing.assert_close(out, _net(x, state, 0.25), rtol=1e-10, atol=1e-12)


def test_modules_pass_gradcheck():
    torch.manual_seed(0)
    # Max pooling and ReLU are not differentiable at ties and zeros; random inputs avoid them.
    for module, shape in [
        (ex.ConvBN(2, 3, pool=True), (2, 2, 4, 4)),
        (ex.Residual(2), (1, 2, 3, 3)),
    ]:
        module = _randomise(module, seed=4).eval()
        x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("width", [1, 5, 64])
@pytest.mark.parametrize(("classes", "channels"), [(10, 3), (7, 1)])
def test_parameter_count_has_its_closed_form(width, classes, channels):
    w = width

    def conv_bn(c_in, c_out):
        return 9 * c_in * c_out + 2 * c_out  # bias-free conv, batch-norm weight and bias

    expected = (
        conv_bn(channels, w)
        + conv_bn(w, 2 * w) + 2 * conv_bn(2 * w, 2 * w)
        + conv_bn(2 * w, 4 * w)
        + conv_bn(4 * w, 8 * w) + 2 * conv_bn(8 * w, 8 * w)
        + 8 * w * classes
    )  # fmt: skip
    net = ex.SpeedrunNet(width=w, num_classes=classes, in_channels=channels)
    assert sum(p.numel() for p in net.parameters()) == expected


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (7, 2, 9, 3), (1, 16, 8, 8)])
def test_channels_last_strides(device, shape):
    n, c, h, w = shape
    got = ex.channels_last_strides(np.array(shape))
    assert got.dtype.kind == "i"
    np.testing.assert_array_equal(got, [h * w * c, 1, w * c, c])
    real = torch.zeros(shape, device=device).to(memory_format=torch.channels_last)
    np.testing.assert_array_equal(got, real.stride())


def test_channels_last_strides_rejects_a_wrong_shape():
    with pytest.raises(ValueError, match="shape must have 4 entries"):
        ex.channels_last_strides((2, 3, 4))


def _rule(scale, found_inf, good, growth, backoff, interval):
    """The documented GradScaler rule, stated directly."""
    if found_inf:
        return scale * backoff, 0
    if good + 1 == interval:
        return scale * growth, 0
    return scale, good + 1


@pytest.mark.parametrize("found_inf", [False, True])
@pytest.mark.parametrize("good", [0, 1, 2])
def test_update_loss_scale_follows_the_rule(found_inf, good):
    for growth, backoff, interval in [(2.0, 0.5, 3), (4.0, 0.25, 2), (2.0, 0.5, 2000)]:
        got = ex.update_loss_scale(1024.0, found_inf, good, growth, backoff, interval)
        assert got == _rule(1024.0, found_inf, good, growth, backoff, interval)


def _grad_scaler_trace(flags, init_scale, growth, backoff, interval):
    """Scales of a real torch.amp.GradScaler whose steps overflow where flags says."""
    model = torch.nn.Linear(3, 1).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    scaler = torch.amp.GradScaler(
        "cpu", init_scale=init_scale, growth_factor=growth, backoff_factor=backoff,
        growth_interval=interval,
    )  # fmt: skip
    scales = []
    for flag in flags:
        optimizer.zero_grad()
        loss = model(torch.ones(2, 3, dtype=torch.float64)).sum()
        if flag:
            loss = loss * float("inf")
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        scales.append(scaler.get_scale())
    return np.array(scales)


def test_loss_scale_trace_matches_grad_scaler():
    rng = np.random.default_rng(0)
    for interval, growth, backoff in [(2, 2.0, 0.5), (3, 4.0, 0.25), (5, 2.0, 0.5)]:
        flags = rng.random(25) < 0.2
        flags[0] = True
        scales, counts = gpu_ex.loss_scale_trace(flags, 4096.0, growth, backoff, interval)
        np.testing.assert_array_equal(
            scales, _grad_scaler_trace(flags, 4096.0, growth, backoff, interval)
        )
        scale, good = 4096.0, 0
        for t, flag in enumerate(flags):
            scale, good = _rule(scale, flag, good, growth, backoff, interval)
            assert (scales[t], counts[t]) == (scale, good)


MODULE_CALLS = ("module_forward", "module_backward", "module_shape", "module_params")


@pytest.mark.gpu
@pytest.mark.parametrize("notebook", ["speedrun_net", "speedrun_gpu"])
def test_module_verdicts_agree_on_cpu_and_cuda(monkeypatch, notebook):
    """The graded module cases give the same outputs, within each spec's tolerance, when
    the check device is CUDA (a GPU runner) as on the CPU."""
    specs = [s for s in load_specs(SOLUTIONS / f"{notebook}.specs.py") if s.call in MODULE_CALLS]
    assert specs
    for spec in specs:
        for seed in range(3):
            inputs = spec.make_inputs(np.random.default_rng(seed))
            fns = spec.reference.functions
            monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
            on_cpu = CALLS[spec.call](fns, inputs)
            monkeypatch.setenv(DEVICE_VARIABLE, "cuda")
            on_cuda = CALLS[spec.call](fns, inputs)
            assert on_cpu.keys() == on_cuda.keys()
            for key, value in on_cpu.items():
                np.testing.assert_allclose(
                    on_cuda[key], value, rtol=spec.rtol, atol=spec.atol, err_msg=spec.test_id
                )
