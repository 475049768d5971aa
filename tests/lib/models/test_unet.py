"""U-Net (Ronneberger et al. 2015): the paper's sizes (572 -> 388), its 23 convolutional
layers, the parameters of its Fig. 1, the padded and bilinear variants, and cropping."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from tv_compare import param_count, smoke_forward_backward

from dlcourse.models import get_model
from dlcourse.models.unet import UNet, center_crop


def _conv(c_in: int, c_out: int, k: int) -> int:
    return c_in * c_out * k * k + c_out


# Fig. 1 of the paper, layer by layer: 3x3 convs, 2x2 up-convs, the final 1x1 (1 in, 2 out).
FIG_1 = (
    [_conv(1, 64, 3), _conv(64, 64, 3), _conv(64, 128, 3), _conv(128, 128, 3)]
    + [_conv(128, 256, 3), _conv(256, 256, 3), _conv(256, 512, 3), _conv(512, 512, 3)]
    + [_conv(512, 1024, 3), _conv(1024, 1024, 3)]
    + [_conv(1024, 512, 2), _conv(1024, 512, 3), _conv(512, 512, 3)]
    + [_conv(512, 256, 2), _conv(512, 256, 3), _conv(256, 256, 3)]
    + [_conv(256, 128, 2), _conv(256, 128, 3), _conv(128, 128, 3)]
    + [_conv(128, 64, 2), _conv(128, 64, 3), _conv(64, 64, 3), _conv(64, 2, 1)]
)


def test_unet_has_the_papers_23_layers_and_fig_1_parameters() -> None:
    """Are there 23 convolutional layers (Section 2), with Fig. 1's parameters?"""
    model = get_model("unet")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    assert len(FIG_1) == len(convs) == 23
    assert param_count(model) == sum(FIG_1) == 31_030_658


@pytest.mark.parametrize("upsample", ["transposed", "bilinear"])
def test_unet_maps_a_572_tile_to_388_as_in_fig_1(upsample: str) -> None:
    """Does the valid-convolution U-Net take a 572x572 tile to a 388x388 map, with Fig. 1's
    bottom map of 28x28? (A thin network: the sizes do not depend on the widths.)"""
    torch.manual_seed(0)
    model = UNet(base_channels=2, upsample=upsample).eval()  # type: ignore[arg-type]
    bottom = []
    model.down[-1].register_forward_hook(lambda _m, _a, out: bottom.append(out.shape))
    with torch.no_grad():
        out = model(torch.randn(1, 1, 572, 572))
    assert out.shape == (1, 2, 388, 388)
    assert bottom == [(1, 32, 28, 28)]
    assert model.output_size(572) == 388


def test_padded_unet_keeps_the_input_size() -> None:
    """Does the padded variant return a map of the input's size?"""
    torch.manual_seed(0)
    model = get_model("unet_padded", base_channels=4, in_channels=3, num_classes=5).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 48, 64)).shape == (1, 5, 48, 64)


def test_bilinear_upsampling_swaps_2x2_up_convolutions_for_1x1() -> None:
    """Does bilinear upsampling save 3 / 4 of each up-convolution's weights, and only that?"""
    transposed, bilinear = UNet(), UNet(upsample="bilinear")
    up_weights = sum(c * (c // 2) for c in (1024, 512, 256, 128))
    assert param_count(transposed) - param_count(bilinear) == 3 * up_weights


def test_center_crop_takes_the_middle() -> None:
    """Is the crop centred (the paper crops the encoder's map to the decoder's size)?"""
    x = torch.arange(36.0).reshape(1, 1, 6, 6)
    torch.testing.assert_close(center_crop(x, (2, 2)), x[..., 2:4, 2:4])
    with pytest.raises(ValueError, match="cannot crop"):
        center_crop(x, (8, 8))


@pytest.mark.parametrize(("name", "size"), [("unet", 570), ("unet_padded", 60)])
def test_unet_rejects_sizes_whose_maps_turn_odd(name: str, size: int) -> None:
    """Is an input that would hand a 2x2 pool an odd map refused, saying which size?"""
    model = get_model(name, base_channels=2)
    with pytest.raises(ValueError, match=f"input size {size}"):
        model(torch.randn(1, 1, size, size))


def test_unet_rejects_bad_arguments() -> None:
    """Are a bad upsample mode and depth refused, naming the argument?"""
    with pytest.raises(ValueError, match="upsample must be"):
        UNet(upsample="nearest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="depth"):
        UNet(depth=0)


def test_unet_forward_backward_on_device(device: str) -> None:
    """Does the CPU-sized U-Net run a training step on the device, keeping the size?"""
    torch.manual_seed(0)
    model = get_model("unet_small").to(device)
    smoke_forward_backward(model, torch.randn(2, 3, 32, 32, device=device), (2, 2, 32, 32))
