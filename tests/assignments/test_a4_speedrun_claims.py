"""Claims of speedrun_net.ipynb and speedrun_gpu.ipynb, proved from the notebooks' own code.

speedrun_net states the parameter count of the width-64 network, where its parameters and
its multiply-adds sit (its ``conv_table`` cell, run on the reference network), and how much
more work the GPU notebook's width-64 network does than the CPU baseline's width 8.
speedrun_gpu says it never downloads CIFAR-10 and falls back to the embedded shapes set,
saying so: its data cell is run with an empty data folder. Its code cells, run in order as a
CPU machine runs them, prove that the notebook works without a GPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dlcourse.exercises.a4 import speedrun_net as ex

from .notebook_text import claim, code_cells, number

NET = "a4/speedrun_net"
GPU = "a4/speedrun_gpu"


def _conv_table():
    """The notebook's conv_table function (its cell, up to the width-64 example)."""
    (cell,) = [source for source in code_cells(NET) if "def conv_table" in source]
    namespace: dict[str, object] = {"nn": nn, "torch": torch}
    exec(cell.split("\n\n\nnet64 =")[0], namespace)  # noqa: S102
    return namespace["conv_table"]


def _macs(width: int) -> int:
    return sum(macs for _, _, macs in _conv_table()(ex.SpeedrunNet(width=width)))


def test_width_64_parameter_count():
    # "At width 64 the network has about **6.57 million parameters**."
    stated = number(NET, r"network has about \*\*{num} million parameters\*\*")
    count = sum(p.numel() for p in ex.SpeedrunNet(width=64).parameters())
    assert round(count / 1e6, 2) == stated


def test_layer3_holds_the_parameters_but_not_the_work():
    # "`layer3` holds about **90% of the parameters** but only about 40% of the work."
    params_pct, work_pct = (
        number(NET, r"holds about \*\*{num}% of the parameters\*\*"),
        number(NET, r"but only about {num}% of the work"),
    )
    net = ex.SpeedrunNet(width=64)
    total = sum(p.numel() for p in net.parameters())
    share = sum(p.numel() for p in net.layer3.parameters()) / total
    assert abs(100 * share - params_pct) < 2.5, share
    rows = _conv_table()(net)
    work = sum(m for name, _, m in rows if name.startswith("layer3")) / sum(m for *_, m in rows)
    assert abs(100 * work - work_pct) < 2.5, work


def test_pooled_convolutions_do_equal_work_and_residual_ones_half():
    claim(NET, r"The three convolutions followed by a pool .* do the same work each; every")
    claim(NET, r"residual convolution does half of that")
    macs = {name: m for name, _, m in _conv_table()(ex.SpeedrunNet(width=64))}
    pooled = [macs["layer1.0.conv"], macs["layer2.conv"], macs["layer3.0.conv"]]
    assert len(set(pooled)) == 1
    residual = [m for name, m in macs.items() if ".res" in name]
    assert len(residual) == 4 and all(2 * m == pooled[0] for m in residual)


def test_width_64_does_about_60_times_the_work_of_width_8():
    # "the width-64 network, with about 60 times the work per image"
    stated = number(NET, r"width-64 network, with about {num} times the work per image")
    ratio = _macs(64) / _macs(8)
    assert abs(ratio - stated) < 5, ratio


def test_gpu_notebook_never_downloads_and_falls_back_to_shapes(monkeypatch, tmp_path, capsys):
    claim(GPU, r"`load_cifar10\(download=False\)` never\s*downloads")
    claim(GPU, r"falls back to the course's embedded \*\*shapes\*\* set")
    (cell,) = [source for source in code_cells(GPU) if "load_cifar10(" in source]
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    namespace: dict[str, object] = {"torch": torch, "np": np, "ON_GPU": False}
    namespace["device"] = torch.device("cpu")
    exec(cell, namespace)  # noqa: S102
    assert namespace["DATASET"] == "shapes"
    assert "CIFAR-10 is not on this machine" in capsys.readouterr().out
    assert not any(tmp_path.rglob("*.tar.gz")), "the notebook tried to download CIFAR-10"
    x_train = namespace["x_train"]
    assert isinstance(x_train, torch.Tensor) and x_train.shape[1:] == (3, 32, 32)


@pytest.mark.slow
def test_gpu_notebook_runs_top_to_bottom_on_a_cpu(monkeypatch, tmp_path, capsys):
    """The release proof cannot run speedrun_gpu without a GPU runner, so its code cells are
    run here, in order, as a CPU machine runs them (the smoke path): every cell must work,
    and the cells must say that they are not on a GPU and which data they used."""
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    cells = code_cells(GPU)
    namespace: dict[str, object] = {}
    exec(cells[0], namespace)  # noqa: S102  (the setup cell)
    namespace["check"] = namespace["check_hidden"] = lambda *args: None
    namespace["plt"].show = lambda *args, **kwargs: None  # type: ignore[attr-defined]
    for cell in cells[1:]:
        exec(cell, namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "Not on a GPU" in out
    assert namespace["DATASET"] == "shapes" and namespace["SMOKE"] is True
    assert list(namespace["rates"]) == ["float32", "float32 + channels-last"]  # no AMP on a CPU
    assert namespace["torch_scales"] == namespace["mine"].tolist()  # GradScaler = the rule
    assert len(namespace["history"]) == 1
    assert "time to 94% on CIFAR-10: not measured" in out
