"""fold_batchnorm: eval-mode outputs of the folded copy equal the model's, in float64."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlcourse.functional.fold import fold_batchnorm_into_conv
from dlcourse.torchnn import BatchNorm2d, Conv2d, fold_batchnorm

DT = torch.float64


def _warm_up(model: nn.Module, shape: tuple[int, ...], device: str) -> nn.Module:
    """Random affine parameters and running statistics far from (0, 1), then eval mode."""
    torch.manual_seed(0)
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm2d, BatchNorm2d)) and module.affine:
            with torch.no_grad():
                module.weight.uniform_(0.5, 2.0)
                module.bias.normal_()
    model.train()
    with torch.no_grad():
        for step in range(3):
            model(torch.randn(shape, dtype=DT, device=device) * (2 + step) + 1)
    return model.eval()


def _vgg_like(device: str) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8, momentum=None),
        nn.ReLU(),
        nn.MaxPool2d(2),
        Conv2d(8, 6, 3, padding=1, groups=2, bias=False),
        BatchNorm2d(6),
        nn.ReLU(),
        nn.Conv2d(6, 4, 1),
        nn.BatchNorm2d(4, affine=False),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 5),
    ).to(device, DT)


class _Block(nn.Module):
    """A residual block (He et al., 2016) declaring its conv/norm pairs for folding."""

    conv_norm_pairs = (("conv1", "bn1"), ("conv2", "bn2"))

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = BatchNorm2d(channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            # A Sequential folds by itself: no declaration needed.
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride, bias=False), nn.BatchNorm2d(channels)
            )

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + identity)


def _norms(model: nn.Module) -> list[str]:
    return [n for n, m in model.named_modules() if isinstance(m, (nn.BatchNorm2d, BatchNorm2d))]


def test_folding_a_vgg_like_sequential_keeps_eval_outputs(device):
    """Every conv-bn pair folds (bn becomes Identity) and the outputs are unchanged?"""
    model = _warm_up(_vgg_like(device), (4, 3, 8, 8), device)
    folded = fold_batchnorm(model)
    assert _norms(folded) == []
    assert [type(folded[i]) for i in (1, 4, 8, 11)] == [nn.Identity] * 4
    assert type(folded[7]) is Conv2d and folded[7].bias is not None
    x = torch.randn(5, 3, 8, 8, dtype=DT, device=device)
    torch.testing.assert_close(folded(x), model(x), rtol=1e-10, atol=1e-12)


def test_folding_residual_blocks_with_declared_pairs_keeps_eval_outputs(device):
    """Blocks declaring conv_norm_pairs, with a downsampling Sequential inside, fold fully?"""
    model = nn.Sequential(_Block(3, 4), _Block(4, 6, stride=2), _Block(6, 6)).to(device, DT)
    model = _warm_up(model, (4, 3, 8, 8), device)
    folded = fold_batchnorm(model)
    assert _norms(folded) == []
    assert set(folded.state_dict()) - set(model.state_dict()) == {
        f"{i}.{conv}.bias" for i in range(3) for conv in ("conv1", "conv2")
    } | {"0.downsample.0.bias", "1.downsample.0.bias"}
    x = torch.randn(2, 3, 8, 8, dtype=DT, device=device)
    torch.testing.assert_close(folded(x), model(x), rtol=1e-10, atol=1e-12)


def test_folded_weights_agree_with_the_numpy_fold(device):
    """Are the folded conv's weight and bias those of dlcourse.functional.fold?"""
    model = _warm_up(_vgg_like(device), (4, 3, 8, 8), device)
    folded = fold_batchnorm(model)
    for conv_index, norm_index in [(0, 1), (3, 4), (7, 8), (10, 11)]:
        conv, norm = model[conv_index], model[norm_index]
        features = conv.out_channels

        def numpy(tensor, default):
            return (tensor if tensor is not None else default).detach().cpu().numpy()

        w, b = fold_batchnorm_into_conv(
            numpy(conv.weight, None),
            None if conv.bias is None else numpy(conv.bias, None),
            numpy(norm.weight, torch.ones(features, dtype=DT)),
            numpy(norm.bias, torch.zeros(features, dtype=DT)),
            numpy(norm.running_mean, None),
            numpy(norm.running_var, None),
            norm.eps,
        )
        torch.testing.assert_close(folded[conv_index].weight.cpu(), torch.from_numpy(w))
        torch.testing.assert_close(folded[conv_index].bias.cpu(), torch.from_numpy(b))


def test_fold_leaves_the_original_model_unchanged():
    """Does the model keep its norms and parameters after folding a copy?"""
    model = _warm_up(_vgg_like("cpu"), (4, 3, 8, 8), "cpu")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fold_batchnorm(model)
    assert len(_norms(model)) == 4
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_fold_refuses_a_model_in_train_mode():
    """Is a train-mode model refused with a message saying to call model.eval()?"""
    model = _vgg_like("cpu")
    with pytest.raises(ValueError, match=r"eval mode \(call model.eval\(\) first\)"):
        fold_batchnorm(model)
    model.eval()
    model[1].train()  # one norm left in train mode is enough to refuse
    with pytest.raises(ValueError, match="in train mode: 1"):
        fold_batchnorm(model)


def test_norm_without_running_stats_is_left_in_place(device):
    """A BatchNorm2d without running statistics (batch statistics in eval) is not folded."""
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, track_running_stats=False)).to(
        device, DT
    )
    folded = fold_batchnorm(model.eval())
    assert isinstance(folded[1], nn.BatchNorm2d)
    x = torch.randn(2, 2, 5, 5, dtype=DT, device=device)
    torch.testing.assert_close(folded(x), model(x))


def test_fold_in_float32_keeps_the_dtype_and_outputs():
    """A float32 model folds to float32 convs whose outputs match within float32 precision."""
    model = _warm_up(_vgg_like("cpu"), (4, 3, 8, 8), "cpu").float()
    folded = fold_batchnorm(model)
    assert all(p.dtype == torch.float32 for p in folded.parameters())
    x = torch.randn(3, 3, 8, 8)
    torch.testing.assert_close(folded(x), model(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ((("conv1", "bn9"),), "has no submodule 'bn9'"),
        ((("bn1", "conv1"),), "expected a Conv2d and a BatchNorm2d"),
    ],
)
def test_fold_refuses_a_wrong_conv_norm_pairs_declaration(monkeypatch, pairs, message):
    """Is a declaration naming a missing module, or the pair reversed, refused?"""
    monkeypatch.setattr(_Block, "conv_norm_pairs", pairs)
    with pytest.raises(ValueError, match=message):
        fold_batchnorm(_Block(2, 2).eval())
