"""The registry of model names: ``get_model("resnet18", num_classes=10)``.

Every factory function of :mod:`dlcourse.models` registers itself under its own name with
:func:`register_model`. A second factory under a name already taken is refused: two
networks answering to one name would make a course's tables and checks ambiguous.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

Factory = TypeVar("Factory", bound=Callable[..., nn.Module])

_FACTORIES: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str | None = None) -> Callable[[Factory], Factory]:
    """Decorator: register a factory under ``name`` (default: the function's own name)."""

    def decorate(factory: Factory) -> Factory:
        key = name or factory.__name__
        if key in _FACTORIES:
            taken = _FACTORIES[key]
            raise ValueError(
                f"model name {key!r} is already registered by "
                f"{taken.__module__}.{taken.__qualname__}; pick another name"
            )
        _FACTORIES[key] = factory
        return factory

    return decorate


def get_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the registered model ``name`` with the factory's keyword arguments."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; the registered models are: {', '.join(list_models())}"
        ) from None
    return factory(**kwargs)


def list_models() -> list[str]:
    """The registered model names, sorted."""
    return sorted(_FACTORIES)
