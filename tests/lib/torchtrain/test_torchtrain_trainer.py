"""The torch training loop: learning, early stopping, resuming, seeding, devices."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torchtrain_data import blobs, convnet, mlp, params_of

from dlcourse.torchoptim import SGD, Adam, ReduceLROnPlateau, StepDecayLR
from dlcourse.torchtrain import History, Trainer, fit, seed_everything
from dlcourse.train.early_stopping import early_stopping


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], tol=0.0) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=tol, atol=tol, msg=f"entry {k}")


def test_loss_decreases_and_history_has_one_entry_per_epoch(device: str) -> None:
    x, y = blobs(60, 1)
    xv, yv = blobs(30, 2)
    model = mlp(0)
    hist = fit(
        model,
        SGD(model.parameters(), lr=0.1, momentum=0.9),
        x,
        y,
        xv,
        yv,
        device=device,
        num_epochs=6,
        batch_size=10,
        progress=False,
    )
    assert hist.num_epochs == 6
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
        assert len(getattr(hist, key)) == 6, key
    assert len(hist.loss) == 6 * 6  # 60 examples in batches of 10
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]
    assert hist.val_acc[-1] > 0.8
    # The model ends with the best epoch's weights, so evaluating it gives that epoch's
    # recorded validation metrics.
    trainer = Trainer(model, SGD(model.parameters()), device=device, progress=False)
    loss, acc = trainer.evaluate(xv, yv)
    assert acc == hist.val_acc[hist.best_epoch]
    assert loss == pytest.approx(hist.val_loss[hist.best_epoch], rel=1e-12)


@pytest.mark.parametrize("monitor", ["val_loss", "val_acc"])
def test_early_stopping_restores_exactly_the_best_epochs_weights(monitor: str, device: str) -> None:
    """Does the model end with the weights of the epoch the NumPy early-stopping rule picks?"""
    x, y = blobs(24, 1, noise=2.0)  # few, noisy examples and a wide net: it overfits
    xv, yv = blobs(90, 2, noise=2.0)
    model = mlp(0, hidden=64)
    snapshots: list[dict[str, torch.Tensor]] = []
    trainer = Trainer(
        model,
        Adam(model.parameters(), lr=0.02),
        device=device,
        num_epochs=40,
        batch_size=8,
        patience=3,
        monitor=monitor,
        progress=False,
        on_epoch_end=lambda epoch, t: snapshots.append(params_of(t.model)),
    )
    hist = trainer.fit(x, y, xv, yv)
    values = np.array(hist.val_loss if monitor == "val_loss" else hist.val_acc)
    stop_epoch, best_epoch = early_stopping(values, 3, maximize=monitor == "val_acc")
    assert hist.stopped_early
    assert stop_epoch == hist.num_epochs - 1 < 39
    assert hist.best_epoch == best_epoch < stop_epoch
    assert hist.best_value == values[best_epoch]
    assert_same_weights(params_of(model), snapshots[best_epoch])
    assert not torch.equal(snapshots[best_epoch]["1.weight"], snapshots[-1]["1.weight"])


def _resumable_trainer(model, device, num_epochs, path=None) -> Trainer:
    opt = Adam(model.parameters(), lr=0.01, weight_decay=1e-3)
    return Trainer(
        model,
        opt,
        device=device,
        scheduler=StepDecayLR(opt, step_size=2, gamma=0.5),
        num_epochs=num_epochs,
        batch_size=16,
        patience=10,
        progress=False,
        checkpoint_path=path,
        seed=3,
    )


def test_resuming_from_a_checkpoint_equals_an_uninterrupted_run(device: str, tmp_path) -> None:
    """Dropout, shuffling, Adam state, the scheduler and best weights all carry over?"""
    x, y = blobs(50, 1)
    xv, yv = blobs(30, 2)
    path = tmp_path / "run.pt"

    torch.manual_seed(7)  # the dropout masks draw from the global generator
    whole = _resumable_trainer(mlp(0, dropout=0.3), device, 6)
    whole_hist = whole.fit(x, y, xv, yv)

    torch.manual_seed(7)
    _resumable_trainer(mlp(0, dropout=0.3), device, 3, path).fit(x, y, xv, yv)
    torch.manual_seed(99)  # whatever happened since must not matter
    resumed = _resumable_trainer(mlp(5, dropout=0.3), device, 6)
    resumed.load_checkpoint(path)
    assert resumed.epoch == 3
    resumed_hist = resumed.fit(x, y, xv, yv)

    assert resumed_hist.to_dict() == whole_hist.to_dict()
    assert_same_weights(params_of(resumed.model), params_of(whole.model))
    assert whole_hist.lr == [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025]


def test_two_runs_with_the_same_seed_give_identical_histories(device: str) -> None:
    x, y = blobs(40, 1)
    xv, yv = blobs(20, 2)

    def run(seed: int) -> tuple[History, dict[str, torch.Tensor]]:
        seed_everything(seed)
        model = torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Linear(32, 8),
            torch.nn.Dropout(0.5),
            torch.nn.Linear(8, 3),
        ).double()
        trainer = Trainer(
            model,
            SGD(model.parameters(), lr=0.05, momentum=0.9),
            device=device,
            num_epochs=3,
            batch_size=8,
            seed=seed,
            progress=False,
        )
        return trainer.fit(x, y, xv, yv), params_of(trainer.model)

    saved = random.getstate()  # seed_everything seeds Python's generator too
    try:
        (h1, p1), (h2, p2), (h3, _) = run(4), run(4), run(5)
    finally:
        random.setstate(saved)
    assert h1.to_dict() == h2.to_dict()
    assert_same_weights(p1, p2)
    assert h3.loss != h1.loss


def test_plateau_scheduler_receives_the_monitored_metric(device: str) -> None:
    """Is the lr history what torch's ReduceLROnPlateau gives for the recorded val_acc?"""
    x, y = blobs(30, 1, noise=3.0)
    xv, yv = blobs(30, 2, noise=3.0)
    model = mlp(0)
    opt = SGD(model.parameters(), lr=0.1)
    plateau = ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=0)
    trainer = Trainer(
        model, opt, device=device, scheduler=plateau, num_epochs=8, batch_size=10, progress=False
    )
    hist = trainer.fit(x, y, xv, yv)

    oracle_opt = torch.optim.SGD([torch.zeros(1)], lr=0.1)
    oracle = torch.optim.lr_scheduler.ReduceLROnPlateau(
        oracle_opt, mode="max", factor=0.5, patience=0
    )
    expected = []
    for val_acc in hist.val_acc:
        expected.append(oracle_opt.param_groups[0]["lr"])
        oracle.step(val_acc)
    assert hist.lr == expected
    assert min(hist.lr) < 0.1


def test_float64_training_matches_the_cpu_within_1e_10(device: str) -> None:
    """CPU/GPU parity: a float64 run on ``device`` ends where the same run on the CPU does."""
    x, y = blobs(40, 1)

    def run(dev: str) -> dict[str, torch.Tensor]:
        model = convnet(0)
        Trainer(
            model,
            Adam(model.parameters(), lr=0.01),
            device=dev,
            num_epochs=2,
            batch_size=8,
            amp=False,
            channels_last=False,
            progress=False,
        ).fit(x, y)
        return params_of(model)

    assert_same_weights(run(device), run("cpu"), tol=1e-10)


def test_amp_and_channels_last_follow_the_device(device: str) -> None:
    """On CUDA both are on by default and train; on the CPU amp=True is refused and
    channels_last=True is honoured with the same results as the plain layout."""
    x, y = blobs(48, 1)
    if device == "cuda":
        model = convnet(0, dtype=torch.float32)
        trainer = Trainer(
            model,
            Adam(model.parameters(), lr=0.01),
            device=device,
            num_epochs=4,
            batch_size=8,
            progress=False,
        )
        assert trainer.amp and trainer.channels_last
        hist = trainer.fit(x.float(), y)
        assert hist.train_loss[-1] < hist.train_loss[0]
        assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
        probs = trainer.predict(x.float(), tta=True)
        assert probs.dtype == torch.float32
        torch.testing.assert_close(probs.sum(dim=1), torch.ones(48))
        return
    model = convnet(0)
    with pytest.raises(ValueError, match="amp=True needs a CUDA device"):
        Trainer(model, Adam(model.parameters()), device=device, amp=True)
    default = Trainer(model, Adam(model.parameters()), device=device)
    assert not default.amp and not default.channels_last

    def run(channels_last: bool) -> dict[str, torch.Tensor]:
        model = convnet(0)
        Trainer(
            model,
            Adam(model.parameters(), lr=0.01),
            device=device,
            num_epochs=2,
            batch_size=8,
            channels_last=channels_last,
            progress=False,
        ).fit(x, y)
        if channels_last:
            assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
        return params_of(model)

    assert_same_weights(run(True), run(False), tol=1e-12)


def test_predict_with_tta_equals_the_hand_computed_average(device: str) -> None:
    x, _ = blobs(10, 3)
    model = convnet(1)
    trainer = Trainer(model, SGD(model.parameters()), device=device, eval_batch_size=4)
    model.eval()
    with torch.no_grad():
        mirrored = x[..., torch.arange(3, -1, -1)]  # W reversed by indexing, not by flip
        expected = (
            torch.softmax(model(x.to(device)), dim=1) + torch.softmax(model(mirrored.to(device)), 1)
        ) / 2
    model.train()
    torch.testing.assert_close(trainer.predict(x, tta=True), expected.cpu(), rtol=1e-14, atol=0)
    assert model.training
    plain = trainer.predict(x)
    assert not torch.allclose(plain, expected.cpu())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_epochs": 0}, "num_epochs"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"monitor": "train_acc"}, "monitor"),
        ({"device": "gpu"}, "device"),
        ({"patience": 0}, "patience"),
    ],
)
def test_bad_arguments_raise_a_value_error_naming_them(kwargs, match, device: str) -> None:
    model = mlp(0)
    kwargs = {"device": device, **kwargs}
    with pytest.raises(ValueError, match=match):
        Trainer(model, SGD(model.parameters()), **kwargs)


def test_bad_data_and_patience_without_validation_are_refused(device: str) -> None:
    model = mlp(0)
    x, y = blobs(10, 1)
    trainer = Trainer(model, SGD(model.parameters()), device=device, patience=2, progress=False)
    with pytest.raises(ValueError, match="validation"):
        trainer.fit(x, y)
    with pytest.raises(ValueError, match="y_train"):
        trainer.fit(x, y[:5])
    with pytest.raises(ValueError, match="integer class labels"):
        trainer.fit(x, y.double())
    with pytest.raises(ValueError, match="x_val and y_val"):
        trainer.fit(x, y, x)


def test_a_diverging_run_stops_and_says_so(device: str) -> None:
    x, y = blobs(20, 1)
    model = mlp(0)
    with torch.no_grad():
        model[1].weight.fill_(float("nan"))
    hist = fit(model, SGD(model.parameters()), x, y, device=device, progress=False)
    assert hist.diverged and hist.num_epochs == 0 and len(hist.loss) == 1


def test_the_progress_bar_shows_and_can_be_turned_off(device: str, capsys) -> None:
    x, y = blobs(20, 1)
    for progress in (True, False):
        model = mlp(0)
        fit(model, SGD(model.parameters()), x, y, device=device, num_epochs=1, progress=progress)
        err = capsys.readouterr().err
        assert ("1/1" in err and "loss=" in err) == progress, err
