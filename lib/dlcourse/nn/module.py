"""Parameters, modules and composition for networks built from the NumPy references.

A :class:`Module` wraps one ``forward -> (out, cache)`` / ``backward(dout, cache)`` pair
from :mod:`dlcourse.functional`. Calling ``module.forward(x)`` keeps the cache; calling
``module.backward(dout)`` uses it, stores parameter gradients in ``param.grad`` and
returns the gradient with respect to the input. Optimizers in :mod:`dlcourse.optim`
update the :class:`Parameter` objects that ``module.parameters()`` yields.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class Parameter:
    """A learnable array together with the gradient of the loss with respect to it."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = np.asarray(data)
        self.grad = np.zeros_like(self.data)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def zero_grad(self) -> None:
        self.grad = np.zeros_like(self.data)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class: holds parameters and child modules, and a train/eval flag.

    Subclasses set attributes that are :class:`Parameter` or :class:`Module` instances;
    they are found automatically by :meth:`named_parameters` in attribute order.
    """

    training: bool = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted.name, parameter)`` for this module and all children."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
            elif isinstance(value, Module):
                yield from value.named_parameters(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> Module:
        """Switch this module and its children to training (or, with False, eval) mode."""
        self.training = mode
        for _, child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter array and every buffer (see :meth:`buffers`)."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update({name: b.copy() for name, b in self.named_buffers()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore arrays saved by :meth:`state_dict`; shapes and names must match."""
        own = dict(self.named_parameters())
        buffers = dict(self._buffer_owners())
        expected = set(own) | set(buffers)
        if set(state) != expected:
            missing, extra = expected - set(state), set(state) - expected
            raise ValueError(
                f"state dict mismatch: missing {sorted(missing)}, extra {sorted(extra)}"
            )
        for name, arr in state.items():
            if name in own:
                if own[name].data.shape != arr.shape:
                    raise ValueError(
                        f"{name}: saved shape {arr.shape} != parameter shape {own[name].data.shape}"
                    )
                own[name].data = arr.copy()
            else:
                module, attr = buffers[name]
                setattr(module, attr, arr.copy())

    # Buffers are non-learnable arrays that belong to the state (batch-norm running
    # statistics). A subclass lists their attribute names in ``_buffers``.
    _buffers: tuple[str, ...] = ()

    def _buffer_owners(self, prefix: str = "") -> Iterator[tuple[str, tuple[Module, str]]]:
        for attr in self._buffers:
            yield prefix + attr, (self, attr)
        for name, child in self.children():
            yield from child._buffer_owners(prefix + name + ".")

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for name, (module, attr) in self._buffer_owners():
            yield name, getattr(module, attr)

    def num_parameters(self) -> int:
        return sum(p.data.size for p in self.parameters())

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        kids = list(self.children())
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not kids:
            return head + ")"
        body = "\n".join(f"  ({n}): " + repr(m).replace("\n", "\n  ") for n, m in kids)
        return head + "\n" + body + "\n)"


class Sequential(Module):
    """Apply modules one after another; backward runs them in reverse."""

    def __init__(self, *layers: Module) -> None:
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential item {i} is {type(layer).__name__}, not a Module")
            setattr(self, str(i), layer)
        self._n = len(layers)

    def __getitem__(self, i: int) -> Module:
        return getattr(self, str(range(self._n)[i]))

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[Module]:
        return (self[i] for i in range(self._n))

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self:
            x = layer.forward(x)
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        for layer in reversed(list(self)):
            dout = layer.backward(dout)
        return dout
