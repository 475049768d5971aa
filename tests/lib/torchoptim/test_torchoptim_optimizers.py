"""dlcourse.torchoptim optimizers against their torch.optim counterparts in float64."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import torch

from dlcourse.torchoptim import SGD, AdaGrad, Adam, AdamW, Momentum, Nesterov, RMSProp

NUM_STEPS = 30
Factory = Callable[[list], torch.optim.Optimizer]


def make_model(device: str) -> torch.nn.Module:
    """A two-layer float64 network with fixed weights (the same every call)."""
    gen = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return model.to(device=device, dtype=torch.float64)


def batches(device: str, num_steps: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A different mini-batch for each step: x (8, 5), y (8,) with classes 0..2."""
    gen = torch.Generator().manual_seed(1)
    out = []
    for _ in range(num_steps):
        x = torch.randn(8, 5, generator=gen, dtype=torch.float64)
        y = torch.randint(0, 3, (8,), generator=gen)
        out.append((x.to(device), y.to(device)))
    return out


def train(model: torch.nn.Module, opt: torch.optim.Optimizer, data: list) -> None:
    for x, y in data:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def assert_same_params(a: torch.nn.Module, b: torch.nn.Module) -> None:
    for (name, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-12, atol=1e-12, msg=f"parameter {name}")


CASES: dict[str, tuple[Factory, Factory]] = {
    "sgd": (lambda p: SGD(p, lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd-wd": (
        lambda p: SGD(p, lr=0.1, weight_decay=0.05),
        lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.05),
    ),
    "momentum": (
        lambda p: SGD(p, lr=0.05, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    ),
    "momentum-dampening-wd": (
        lambda p: SGD(p, lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01),
    ),
    "momentum-class": (
        lambda p: Momentum(p, lr=0.05),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    ),
    "nesterov-wd": (
        lambda p: SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    ),
    "nesterov-class": (
        lambda p: Nesterov(p, lr=0.05, momentum=0.7),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.7, nesterov=True),
    ),
    "adagrad": (lambda p: AdaGrad(p, lr=0.1), lambda p: torch.optim.Adagrad(p, lr=0.1)),
    "adagrad-decay-wd-init": (
        lambda p: AdaGrad(
            p, lr=0.1, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.1
        ),
        lambda p: torch.optim.Adagrad(
            p, lr=0.1, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.1
        ),
    ),
    "rmsprop": (lambda p: RMSProp(p, lr=0.01), lambda p: torch.optim.RMSprop(p, lr=0.01)),
    "rmsprop-centered-momentum-wd": (
        lambda p: RMSProp(p, lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01),
        lambda p: torch.optim.RMSprop(
            p, lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01
        ),
    ),
    "adam": (lambda p: Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam-wd-amsgrad": (
        lambda p: Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.05, amsgrad=True),
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.05, amsgrad=True),
    ),
    "adamw": (lambda p: AdamW(p, lr=0.01), lambda p: torch.optim.AdamW(p, lr=0.01)),
    "adamw-wd-amsgrad": (
        lambda p: AdamW(p, lr=0.02, weight_decay=0.1, amsgrad=True, eps=1e-6),
        lambda p: torch.optim.AdamW(p, lr=0.02, weight_decay=0.1, amsgrad=True, eps=1e-6),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_optimizer_matches_torch_for_thirty_steps_in_float64(case: str, device: str) -> None:
    ours, theirs = CASES[case]
    data = batches(device, NUM_STEPS)
    model_a, model_b = make_model(device), make_model(device)
    train(model_a, ours(list(model_a.parameters())), data)
    train(model_b, theirs(list(model_b.parameters())), data)
    assert_same_params(model_a, model_b)
    # The trajectory really moved, so equality is not the trivial "nothing happened".
    assert not torch.equal(model_a[0].weight, make_model(device)[0].weight)


def test_parameter_groups_keep_their_own_hyperparameters(device: str) -> None:
    """Do two groups with different lr and weight decay step as torch's do?"""
    data = batches(device, NUM_STEPS)
    model_a, model_b = make_model(device), make_model(device)

    def groups(m: torch.nn.Module) -> list[dict]:
        return [
            {"params": m[0].parameters(), "lr": 0.02, "weight_decay": 0.1},
            {"params": m[2].parameters()},
        ]

    train(model_a, AdamW(groups(model_a), lr=0.01), data)
    train(model_b, torch.optim.AdamW(groups(model_b), lr=0.01), data)
    assert_same_params(model_a, model_b)


@pytest.mark.parametrize("case", ["momentum", "rmsprop-centered-momentum-wd", "adam-wd-amsgrad"])
def test_state_dict_round_trip_resumes_identically(case: str, device: str) -> None:
    """Does an optimizer saved after 15 steps and reloaded continue as if never stopped?"""
    ours, _ = CASES[case]
    data = batches(device, NUM_STEPS)
    model_a = make_model(device)
    train(model_a, ours(list(model_a.parameters())), data)

    model_b = make_model(device)
    opt_b = ours(list(model_b.parameters()))
    train(model_b, opt_b, data[:15])
    buffer = io.BytesIO()
    torch.save({"model": model_b.state_dict(), "optimizer": opt_b.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)

    model_c = make_model(device)
    model_c.load_state_dict(saved["model"])
    opt_c = ours(list(model_c.parameters()))
    opt_c.load_state_dict(saved["optimizer"])
    train(model_c, opt_c, data[15:])
    assert_same_params(model_a, model_c)


def test_parameters_without_gradient_are_left_alone(device: str) -> None:
    model = make_model(device)
    opt = Adam(model.parameters(), lr=0.1)
    before = model[2].weight.detach().clone()
    x, y = batches(device, 1)[0]
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model[2](torch.tanh(model[0](x))).detach(), y)
    model[0].weight.grad = torch.ones_like(model[0].weight)
    opt.step()
    assert torch.equal(model[2].weight, before)
    assert len(opt.state) == 1


def test_closure_loss_is_returned(device: str) -> None:
    model = make_model(device)
    opt = SGD(model.parameters(), lr=0.1)
    x, y = batches(device, 1)[0]

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss

    expected = torch.nn.functional.cross_entropy(model(x), y).item()
    assert opt.step(closure).item() == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: SGD(p, lr=-0.1), "lr"),
        (lambda p: SGD(p, lr=0.1, momentum=1.5), "momentum"),
        (lambda p: SGD(p, lr=0.1, nesterov=True), "nesterov"),
        (lambda p: Momentum(p, lr=0.1, momentum=0.0), "momentum"),
        (lambda p: Adam(p, betas=(0.9,)), "betas"),
        (lambda p: Adam(p, betas=(0.9, 1.0)), "beta2"),
        (lambda p: AdamW(p, weight_decay=-1.0), "weight_decay"),
        (lambda p: RMSProp(p, eps=0.0), "eps"),
        (lambda p: AdaGrad(p, lr_decay=-0.1), "lr_decay"),
        (lambda p: SGD([{"params": p, "lr": float("nan")}]), "lr"),
        (lambda p: Adam([{"params": p, "weight_decay": -0.5}]), "weight_decay"),
    ],
)
def test_bad_hyperparameters_raise_a_value_error_naming_them(
    make: Factory, match: str, device: str
) -> None:
    with pytest.raises(ValueError, match=match):
        make([torch.zeros(2, requires_grad=True, device=device)])


def test_sparse_gradients_are_refused(device: str) -> None:
    emb = torch.nn.Embedding(4, 2, sparse=True).to(device)
    opt = Adam(emb.parameters())
    emb(torch.tensor([1, 2], device=device)).sum().backward()
    with pytest.raises(ValueError, match="sparse"):
        opt.step()
