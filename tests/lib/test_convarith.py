"""Convolution arithmetic: the lectures' worked examples, torch's shapes, error messages."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlcourse.convarith import (
    as_pair,
    conv_macs,
    conv_output_shape,
    conv_output_size,
    conv_param_count,
    receptive_field,
)

# --- output size: worked examples from the lecture notes -------------------------------


def test_six_5x5_filters_on_3x32x32_image_give_6x28x28():
    # Review lecture: 3x32x32 image, 6x3x5x5 filters -> 6 activation maps of 28x28.
    assert conv_output_size(32, 5) == 28
    assert conv_output_shape((32, 32), 5) == (28, 28)


def test_3x3_filter_on_7x7_input_gives_5_with_stride_1_and_3_with_stride_2():
    # CNN class notes: 7 - 3 + 1 = 5, and (7 - 3) / 2 + 1 = 3.
    assert conv_output_size(7, 3) == 5
    assert conv_output_size(7, 3, stride=2) == 3


def test_stride_3_on_7x7_input_rounds_down_and_exact_refuses_showing_the_arithmetic():
    assert conv_output_size(7, 3, stride=3) == 2  # (7 - 3) / 3 + 1 = 2.33 -> 2, as torch
    with pytest.raises(
        ValueError, match=r"\(7 \+ 2\*0 - 3\) / 3 \+ 1 = 2\.33333 is not an integer"
    ):
        conv_output_size(7, 3, stride=3, exact=True)


def test_5x5_stride_2_on_32_is_refused_with_the_issue_example_message_when_exact():
    with pytest.raises(ValueError) as err:
        conv_output_size(32, 5, stride=2, exact=True)
    message = str(err.value)
    assert "(32 + 2*0 - 5) / 2 + 1 = 14.5 is not an integer" in message
    assert "stride=1" in message  # a fix is suggested
    # ... and the way back to the framework convention is named.
    assert "drop exact=True to round down to 14" in message


def test_error_suggests_a_padding_that_works_when_one_exists():
    # (7 + 2p - 3) must be divisible by 3: p = 1 gives 6.
    with pytest.raises(ValueError, match=r"pad=1"):
        conv_output_size(7, 3, stride=3, exact=True)


def test_pad_2_keeps_32x32_size_for_ten_5x5_filters():
    # CNN class notes: 32x32x3 input, ten 5x5 filters, stride 1, pad 2 -> 32x32x10.
    assert conv_output_size(32, 5, stride=1, pad=2) == 32


def test_same_padding_keeps_size_for_odd_kernels():
    for kernel in (1, 3, 5, 7):
        assert conv_output_size(17, kernel, pad=(kernel - 1) // 2) == 17


def test_1x1_conv_keeps_spatial_size_without_padding():
    assert conv_output_shape((56, 56), 1) == (56, 56)


def test_resnet_stride_2_downsampling_on_even_maps_rounds_down_by_default():
    # CNN class notes: ResNet halves the maps with a stride-2 1x1 shortcut and a stride-2
    # 3x3 conv (pad 1). On even sizes both leave one row over: (56 - 1)/2 + 1 = 28.5.
    assert conv_output_size(56, 1, stride=2) == 28
    assert conv_output_size(32, 3, stride=2, pad=1) == 16
    assert conv_output_size(57, 1, stride=2) == 29
    with pytest.raises(ValueError, match=r"\(56 \+ 2\*0 - 1\) / 2 \+ 1 = 28\.5"):
        conv_output_size(56, 1, stride=2, exact=True)


def test_alexnet_layer_sizes_follow_from_the_table():
    # Intro lecture's AlexNet table: 227 -> 55 -> 27 -> 27 -> 13 -> 13 -> 6.
    size = conv_output_size(227, 11, stride=4, pad=0)
    assert size == 55
    size = conv_output_size(size, 3, stride=2)  # MAX POOL1
    assert size == 27
    size = conv_output_size(size, 5, pad=2)  # CONV2
    assert size == 27
    size = conv_output_size(size, 3, stride=2)  # MAX POOL2
    assert size == 13
    assert conv_output_size(size, 3, pad=1) == 13  # CONV3..5
    assert conv_output_size(size, 3, stride=2) == 6  # MAX POOL3


def test_mobilenet_stride_2_first_layer_rounds_down_by_default():
    # MobileNet's 3x3 stride-2 conv takes 224 to 112; with pad 1 that is (224 + 2 - 3)/2 + 1
    # = 112.5, which the framework convention of rounding down turns into 112.
    assert conv_output_size(224, 3, stride=2, pad=1) == 112
    with pytest.raises(ValueError, match="112.5 is not an integer"):
        conv_output_size(224, 3, stride=2, pad=1, exact=True)


def test_dilation_2_spreads_a_3x3_kernel_over_5_positions():
    assert conv_output_size(7, 3, dilation=2) == 3
    assert conv_output_size(7, 3, pad=2, dilation=2) == 7


def test_dilated_error_message_shows_the_dilation_term():
    with pytest.raises(ValueError, match=r"\(32 \+ 2\*0 - 2\*\(3 - 1\) - 1\) / 2 \+ 1 = 14\.5"):
        conv_output_size(32, 3, stride=2, dilation=2, exact=True)


def test_kernel_larger_than_padded_input_is_refused():
    with pytest.raises(ValueError, match=r"= -1 is less than 1.*5 positions.*3 \+ 2\*0 = 3"):
        conv_output_size(3, 5)


def test_output_shape_error_names_the_dimension():
    with pytest.raises(ValueError, match=r"^width: \(32 \+ 2\*1 - 3\) / 2 \+ 1 = 16\.5"):
        conv_output_shape((31, 32), 3, stride=2, pad=1, exact=True)


def test_output_shape_accepts_separate_height_and_width_arguments():
    assert conv_output_shape((32, 17), (5, 3), stride=(1, 2), pad=(0, 1)) == (28, 9)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"size": 0, "kernel": 3}, "size must be an integer >= 1, got 0"),
        ({"size": 8, "kernel": 3, "stride": 0}, "stride must be an integer >= 1, got 0"),
        ({"size": 8, "kernel": 3, "pad": -1}, "pad must be an integer >= 0, got -1"),
        ({"size": 8, "kernel": 2.0}, "kernel must be an integer, got 2.0"),
        ({"size": 8, "kernel": 3, "dilation": True}, "dilation must be an integer"),
    ],
)
def test_invalid_arguments_are_refused_by_name(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        conv_output_size(**kwargs)


@given(
    size=st.integers(1, 24),
    kernel=st.integers(1, 6),
    stride=st.integers(1, 4),
    pad=st.integers(0, 3),
    dilation=st.integers(1, 3),
)
def test_rounded_down_size_matches_torch_conv2d_output(size, kernel, stride, pad, dilation):
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    if span < 0:
        with pytest.raises(ValueError, match="less than 1"):
            conv_output_size(size, kernel, stride, pad, dilation)
        return
    out = torch.nn.functional.conv2d(
        torch.zeros(1, 1, size, 1),
        torch.zeros(1, 1, kernel, 1),
        stride=(stride, 1),
        padding=(pad, 0),
        dilation=(dilation, 1),
    )
    expected = out.shape[2]
    assert conv_output_size(size, kernel, stride, pad, dilation) == expected
    if span % stride == 0:
        assert conv_output_size(size, kernel, stride, pad, dilation, exact=True) == expected
    else:
        with pytest.raises(ValueError, match="is not an integer"):
            conv_output_size(size, kernel, stride, pad, dilation, exact=True)


# --- parameter counts ----------------------------------------------------------------


def test_ten_5x5_filters_on_rgb_have_760_parameters():
    # CNN class notes: (5x5x3 + 1) x 10 = 760.
    assert conv_param_count(3, 10, 5) == 760


def test_six_5x5_filters_on_rgb_have_456_parameters_with_bias():
    # Review lecture's 6x3x5x5 filters "don't forget bias terms": (75 + 1) * 6.
    assert conv_param_count(3, 6, 5) == 456
    assert conv_param_count(3, 6, 5, bias=False) == 450


@pytest.mark.parametrize("channels", [1, 64, 256])
def test_three_stacked_3x3_convs_use_27c2_parameters_against_49c2_for_one_7x7(channels):
    # VGG: 3 * (3*3*C*C) = 27 C^2 versus 7*7*C*C = 49 C^2 (biases left out).
    three_3x3 = 3 * conv_param_count(channels, channels, 3, bias=False)
    one_7x7 = conv_param_count(channels, channels, 7, bias=False)
    assert three_3x3 == 27 * channels**2
    assert one_7x7 == 49 * channels**2


def test_1x1_conv_output_map_has_one_weight_per_input_map():
    # CNN class notes: "roughly 1x1x64 for 1 output slice" on a 64-map input.
    assert conv_param_count(64, 1, 1, bias=False) == 64
    assert conv_param_count(64, 32, 1) == 64 * 32 + 32


def test_mobilenet_depthwise_and_pointwise_parameter_counts():
    # MobileNet table: "3x3x32 dw" then "1x1x32x64".
    assert conv_param_count(32, 32, 3, groups=32, bias=False) == 3 * 3 * 32
    assert conv_param_count(32, 64, 1, bias=False) == 32 * 64


def test_grouped_conv_divides_parameters_by_groups():
    assert conv_param_count(64, 128, 3, groups=4, bias=False) == 3 * 3 * 16 * 128


def test_param_count_refuses_groups_that_do_not_divide_channels():
    with pytest.raises(ValueError, match="groups=3 must divide both in_channels=64"):
        conv_param_count(64, 64, 3, groups=3)


# --- receptive field -----------------------------------------------------------------


def test_three_stacked_3x3_convs_see_7x7_like_one_7x7_conv():
    assert receptive_field([(3, 1), (3, 1), (3, 1)]) == 7
    assert receptive_field([(7, 1)]) == 7


def test_two_stacked_3x3_convs_see_5x5():
    assert receptive_field([(3, 1), (3, 1)]) == 5


def test_stride_multiplies_the_growth_of_later_layers():
    # The second 3x3 layer's neighbours are 2 input pixels apart: 3 + 2*2 = 7.
    assert receptive_field([(3, 2), (3, 1)]) == 7
    # 2x2 pooling with stride 2, then a 3x3 conv: 2 + 2*2 = 6.
    assert receptive_field([(2, 2), (3, 1)]) == 6


def test_dilations_1_2_4_grow_the_field_exponentially():
    # 3x3 convs with dilation 1, 2, 4: 1 + 2 + 4 + 8 = 15.
    assert receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)]) == 15


def test_1x1_convs_do_not_grow_the_receptive_field():
    assert receptive_field([(1, 1), (3, 1), (1, 1)]) == 3


def test_empty_stack_sees_one_pixel():
    assert receptive_field([]) == 1


def test_receptive_field_refuses_malformed_layers():
    with pytest.raises(ValueError, match=r"layers\[1\] must be \(kernel, stride\)"):
        receptive_field([(3, 1), (3,)])


# --- multiply-adds --------------------------------------------------------------------


def test_resnet_plain_3x3_on_256_maps_costs_about_600k_per_position():
    # Intro lecture: 256 x 256 x 3 x 3 ~ 600K operations.
    assert conv_macs(256, 256, 3, out_size=1) == 589_824


def test_resnet_bottleneck_costs_about_70k_per_position():
    # 1x1 256->64 (~16K) + 3x3 64->64 (~36K) + 1x1 64->256 (~16K) = ~70K.
    reduce = conv_macs(256, 64, 1, out_size=1)
    middle = conv_macs(64, 64, 3, out_size=1)
    expand = conv_macs(64, 256, 1, out_size=1)
    assert (reduce, middle, expand) == (16_384, 36_864, 16_384)
    assert reduce + middle + expand == 69_632


def test_macs_scale_with_output_area_and_shrink_with_groups():
    assert conv_macs(3, 6, 5, out_size=28) == 28 * 28 * 6 * 5 * 5 * 3
    assert conv_macs(32, 32, 3, out_size=(4, 2), groups=32) == 4 * 2 * 32 * 9


# --- as_pair -------------------------------------------------------------------------


def test_as_pair_repeats_an_int_and_keeps_a_pair():
    assert as_pair(2, "stride") == (2, 2)
    assert as_pair((1, 3), "stride") == (1, 3)


def test_as_pair_refuses_three_values_and_negative_entries():
    with pytest.raises(ValueError, match=r"stride must be an int or a pair"):
        as_pair((1, 2, 3), "stride")
    with pytest.raises(ValueError, match=r"pad\[1\] must be an integer >= 0, got -1"):
        as_pair((0, -1), "pad", minimum=0)
