"""Optimizers and learning-rate schedulers for torch models, twins of :mod:`dlcourse.optim`.

``base`` holds the update skeleton every optimizer shares, ``optimizers`` the rules,
``schedulers`` the learning-rate schedules (built on the NumPy schedules' formulas).
"""

from dlcourse.torchoptim.base import RuleOptimizer
from dlcourse.torchoptim.optimizers import SGD, AdaGrad, Adam, AdamW, Momentum, Nesterov, RMSProp
from dlcourse.torchoptim.schedulers import (
    CosineAnnealingLR,
    CosineWarmRestartsLR,
    CyclicTriangularLR,
    ExponentialDecayLR,
    LinearWarmupLR,
    ReduceLROnPlateau,
    ScheduleLR,
    StepDecayLR,
)

__all__ = [
    "SGD",
    "AdaGrad",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "CosineWarmRestartsLR",
    "CyclicTriangularLR",
    "ExponentialDecayLR",
    "LinearWarmupLR",
    "Momentum",
    "Nesterov",
    "RMSProp",
    "ReduceLROnPlateau",
    "RuleOptimizer",
    "ScheduleLR",
    "StepDecayLR",
]
