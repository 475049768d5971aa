"""LeNet-5: the paper's per-layer counts and connection table, the lectures' sizes."""

from __future__ import annotations

import torch
from torch import nn
from tv_compare import param_count

from dlcourse.models.lenet import C3_TABLE, lenet5


def test_layer_parameters_match_the_paper():
    """LeCun et al. (1998), section II.B: C1 156 trainable parameters, C3 1,516 (with the
    connection table), C5 48,120 connections (= parameters, fully connected), F6 10,164."""
    model = lenet5(connection_table=True)
    assert param_count(model.c1) == 156
    assert param_count(model.c3) == 1516
    assert param_count(model.c5) == 48120
    assert param_count(model.f6) == 10164


def test_full_c3_connects_every_s2_map_to_every_c3_map():
    """Without the table: 16 maps x (6 x 5 x 5 weights + 1 bias)."""
    assert param_count(lenet5().c3) == 16 * (6 * 5 * 5 + 1)


def test_the_network_has_about_60000_trainable_parameters():
    """Paper, section II.B: "340,908 connections, but only 60,000 trainable parameters"."""
    assert round(param_count(lenet5(connection_table=True)), -4) == 60_000


def test_connection_table_is_the_papers_table_1():
    """Six C3 maps read 3 S2 maps, nine read 4, one reads all 6; each input map feeds 10."""
    sizes = [len(inputs) for inputs in C3_TABLE]
    assert sorted(sizes) == [3] * 6 + [4] * 9 + [6]
    assert [sum(i in inputs for inputs in C3_TABLE) for i in range(6)] == [10] * 6


def test_each_c3_map_depends_only_on_the_s2_maps_of_its_row():
    torch.manual_seed(0)
    c3 = lenet5(connection_table=True).c3
    x = torch.randn(1, 6, 14, 14)
    with torch.no_grad():
        base = c3(x)
        for i in range(6):  # change S2 map i alone: exactly the C3 maps of its column move
            bumped = x.clone()
            bumped[:, i] += 1.0
            moved = (c3(bumped) != base).flatten(2).any(-1)[0]
            assert moved.tolist() == [i in inputs for inputs in C3_TABLE], i


def test_shapes_follow_the_lectures_32x32_walkthrough(device):
    model = lenet5().to(device)
    x = torch.randn(2, 1, 32, 32, device=device)
    c1 = model.c1(x)
    s2 = model.s2(c1)
    c3 = model.c3(s2)
    s4 = model.s4(c3)
    c5 = model.c5(s4)
    assert [t.shape[1:] for t in (c1, s2, c3, s4, c5)] == [
        (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1),
    ]  # fmt: skip
    assert model(x).shape == (2, 10)


def test_both_variants_train_a_step_on_the_device(device):
    torch.manual_seed(0)
    for table in (False, True):
        model = lenet5(connection_table=table).to(device)
        x = torch.randn(4, 1, 32, 32, device=device)
        nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 2, 9], device=device)).backward()
        for p in model.parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all()
        assert all(p.grad.abs().sum() > 0 for p in model.c3.parameters())
