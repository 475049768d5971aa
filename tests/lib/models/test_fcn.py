"""FCN: the paper's parameter count, bilinear upsampling against F.interpolate, shapes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from tv_compare import float64_on_cpu, param_count

from dlcourse.models.fcn import (
    BilinearUpsample,
    convolutionalize_,
    fcn8s_vgg16,
    fcn16s_vgg16,
    fcn32s_vgg16,
    learned_upsample2x,
)
from dlcourse.models.vgg import vgg16


def test_fcn32s_has_the_papers_134_million_parameters():
    """Long et al. (2015), Table 1: FCN-VGG16, 134M parameters (21 PASCAL VOC classes);
    the final x32 upsampling is fixed bilinear, so it adds none."""
    with torch.device("meta"):
        model = fcn32s_vgg16(num_classes=21)
    assert round(param_count(model) / 1e6) == 134


def test_backbone_is_vgg16s_convolution_stack():
    """Same layers, same shapes, in order, as VGG-16's ``features``: the classifier's
    weights are the only ones FCN does not take over unchanged."""
    with torch.device("meta"):
        model, reference = fcn32s_vgg16(), vgg16()
    stages = [*model.to_pool3, *model.to_pool4, *model.to_pool5]
    assert [type(m) for m in stages] == [type(m) for m in reference.features]
    ours = [p.shape for stage in stages for p in stage.parameters()]
    assert ours == [p.shape for p in reference.features.parameters()]
    # fc6 holds as many weights as VGG's first Linear: a 7x7x512 -> 4096 map either way.
    assert model.fc6.weight.numel() == reference.classifier[0].weight.numel()


@pytest.mark.parametrize("factor", [2, 8, 16, 32])
def test_fixed_upsampling_is_bilinear_interpolation_away_from_the_border(factor):
    x = torch.randn(1, 3, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    up = BilinearUpsample(3, factor).double()
    got = up(x)
    expected = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
    assert got.shape == (1, 3, 4 * factor, 5 * factor)
    m = factor // 2  # the border where interpolation clamps and the transposed conv fades
    torch.testing.assert_close(
        got[..., m:-m, m:-m], expected[..., m:-m, m:-m], rtol=1e-12, atol=1e-12
    )
    assert not any(True for _ in up.parameters())  # fixed, as the paper keeps it


def test_learned_x2_upsampling_starts_as_bilinear_and_per_channel():
    x = torch.randn(1, 4, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    up = learned_upsample2x(4).double()
    expected = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    with torch.no_grad():
        torch.testing.assert_close(
            up(x)[..., 1:-1, 1:-1], expected[..., 1:-1, 1:-1], rtol=1e-12, atol=1e-12
        )
    assert up.weight.requires_grad


def test_skip_scores_start_at_zero_so_training_starts_from_the_coarse_prediction():
    model = fcn8s_vgg16(num_classes=3, head_channels=16)
    for score in (model.score_pool4, model.score_pool3):
        assert score is not None
        assert score.weight.abs().sum() == 0 and score.bias.abs().sum() == 0


@pytest.mark.parametrize("factory", [fcn32s_vgg16, fcn16s_vgg16, fcn8s_vgg16])
def test_scores_every_pixel_of_inputs_of_any_multiple_of_32(factory):
    torch.manual_seed(0)
    model = factory(num_classes=5, head_channels=16).eval()
    with torch.no_grad():
        for h, w in ((32, 32), (64, 96)):
            assert model(torch.randn(1, 3, h, w)).shape == (1, 5, h, w)


def test_an_input_that_is_not_a_multiple_of_32_is_refused():
    model = fcn32s_vgg16(num_classes=2, head_channels=8)
    with pytest.raises(ValueError, match="multiples of 32"):
        model(torch.randn(1, 3, 40, 32))


def test_an_unknown_upsampling_factor_is_refused():
    with pytest.raises(ValueError, match="factor"):
        BilinearUpsample(2, 3)


def test_fcn8s_trains_a_step_on_the_device(device):
    torch.manual_seed(0)
    model = fcn8s_vgg16(num_classes=3, head_channels=16).to(device)
    x = torch.randn(2, 3, 32, 32, device=device)
    target = torch.randint(0, 3, (2, 32, 32), device=device)
    scores = model(x)  # (N, K, H, W): a class score for every pixel
    nn.functional.cross_entropy(scores, target).backward()
    for p in (model.to_pool3[0].weight, model.upscore2.weight, model.score_pool3.weight):
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


def test_convolutionalized_vgg16_computes_the_classifiers_sums_at_every_position():
    """Paper, section 3.1: fc6 and fc7 "viewed as convolutions with kernels that cover
    their entire input regions". On a 7x7 pool5 map, the centre of the padded 7x7 fc6 sees
    exactly what VGG's fc6 sees, so the fc7 activations there equal VGG's."""
    reference = float64_on_cpu(vgg16).eval()
    with torch.device("meta"):
        model = fcn32s_vgg16()
    model = convolutionalize_(model, reference).eval()
    assert model.fc6.weight.data_ptr() == reference.classifier[0].weight.data_ptr()  # a view
    pool5 = torch.rand(
        2, 512, 7, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(3)
    )
    with torch.no_grad():
        expected = reference.classifier[:5](torch.flatten(pool5, 1))  # fc6, relu, drop, fc7, relu
        # The centre output of the padded fc6 covers the whole 7x7 map: compute it alone.
        assert model.fc6.padding == (3, 3)
        centre = F.conv2d(pool5, model.fc6.weight, model.fc6.bias)  # (2, 4096, 1, 1)
        h = model.relu(model.fc7(model.relu(centre)))
        x = torch.randn(1, 3, 32, 32, dtype=torch.float64)
        features_equal = torch.equal(
            model.to_pool5(model.to_pool4(model.to_pool3(x))), reference.features(x)
        )
    assert expected.std() > 0
    torch.testing.assert_close(h[:, :, 0, 0], expected, rtol=1e-12, atol=1e-12)
    assert features_equal


def test_convolutionalize_refuses_a_head_of_another_width():
    with torch.device("meta"):
        model = fcn32s_vgg16(head_channels=64)
        reference = vgg16()
    with pytest.raises(ValueError, match="head_channels=64"):
        convolutionalize_(model, reference)
