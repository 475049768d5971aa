"""Checkpoints: a round trip restores everything; missing or damaged files fail clearly."""

from __future__ import annotations

import pytest
import torch
from torchtrain_data import mlp, params_of

from dlcourse.torchoptim import AdamW, CosineAnnealingLR
from dlcourse.torchtrain import (
    CheckpointError,
    History,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)


class NotATensor:
    """An arbitrary object: weights_only loading must refuse to rebuild it."""


def trained(device: str, steps: int = 3):
    model = mlp(0).to(device)
    opt = AdamW(model.parameters(), lr=0.01)
    scheduler = CosineAnnealingLR(opt, t_max=10)
    x = torch.randn(8, 2, 4, 4, dtype=torch.float64, device=device)
    for _ in range(steps):
        opt.zero_grad()
        model(x).square().mean().backward()
        opt.step()
        scheduler.step()
    return model, opt, scheduler


def test_round_trip_restores_model_optimizer_scheduler_epoch_and_history(
    device: str, tmp_path
) -> None:
    model, opt, scheduler = trained(device)
    history = History(loss=[1.0, 0.5], train_loss=[0.75], lr=[0.01], best_epoch=0)
    path = save_checkpoint(
        tmp_path / "ck.pt",
        model=model,
        epoch=1,
        optimizer=opt,
        scheduler=scheduler,
        history=history.to_dict(),
        extra={"note": "hi"},
    )
    model2, opt2, scheduler2 = trained(device, steps=0)
    state = load_checkpoint(
        path, model=model2, optimizer=opt2, scheduler=scheduler2, map_location=device
    )
    assert state["epoch"] == 1 and state["extra"] == {"note": "hi"}
    assert History.from_dict(state["history"]) == history
    for k, v in params_of(model).items():
        assert torch.equal(v, params_of(model2)[k]), k
    assert scheduler2.last_epoch == scheduler.last_epoch == 3
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    for p, p2 in zip(model.parameters(), model2.parameters(), strict=True):
        assert torch.equal(opt.state[p]["exp_avg_sq"], opt2.state[p2]["exp_avg_sq"])
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed away


def test_a_missing_file_raises_file_not_found_naming_it(device: str, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no checkpoint at .*absent.pt"):
        load_checkpoint(tmp_path / "absent.pt", model=mlp(0).to(device))


def test_a_truncated_file_is_reported_as_damaged(device: str, tmp_path) -> None:
    model, opt, _ = trained(device)
    path = save_checkpoint(tmp_path / "ck.pt", model=model, epoch=3, optimizer=opt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="damaged or not a checkpoint"):
        read_checkpoint(path)
    path.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="damaged or not a checkpoint"):
        read_checkpoint(path)


def test_a_file_with_arbitrary_objects_is_refused_not_unpickled(device: str, tmp_path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"format": "dlcourse-checkpoint", "payload": NotATensor()}, path)
    with pytest.raises(CheckpointError, match="weights_only"):
        read_checkpoint(path, map_location=device)


def test_a_torch_file_that_is_no_checkpoint_is_refused(device: str, tmp_path) -> None:
    path = tmp_path / "weights.pt"
    torch.save(mlp(0).to(device).state_dict(), path)
    with pytest.raises(CheckpointError, match="not a dlcourse-checkpoint file"):
        read_checkpoint(path)


def test_a_checkpoint_that_does_not_fit_the_model_names_the_part(device: str, tmp_path) -> None:
    path = save_checkpoint(tmp_path / "ck.pt", model=mlp(0, hidden=16).to(device), epoch=0)
    with pytest.raises(CheckpointError, match="the model state .* does not fit"):
        load_checkpoint(path, model=mlp(0, hidden=8).to(device))
    model = mlp(0).to(device)
    with pytest.raises(CheckpointError, match="no optimizer state"):
        load_checkpoint(path, model=model, optimizer=AdamW(model.parameters()))


def test_saving_validates_its_arguments(device: str, tmp_path) -> None:
    with pytest.raises(ValueError, match="epoch"):
        save_checkpoint(tmp_path / "ck.pt", model=mlp(0).to(device), epoch=-1)
    with pytest.raises(FileNotFoundError, match="no folder"):
        save_checkpoint(tmp_path / "nowhere" / "ck.pt", model=mlp(0).to(device), epoch=0)
