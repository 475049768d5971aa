"""The device as one argument, and what mixed precision and channels-last mean on it.

:func:`resolve_device` turns ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a ``torch.device``
into a ``torch.device`` and fails clearly when CUDA is asked for and absent.

Mixed precision (AMP: ``torch.autocast`` to float16 with a ``GradScaler``) and the
channels-last memory format speed up convolutions on NVIDIA GPUs (tensor cores read
NHWC). The rules, so that the same code runs on CPU and GPU:

* ``amp=None`` (default) turns AMP on for CUDA when the model's floating-point
  parameters are float32, and off otherwise (a float64 model is asking for exactness,
  which float16 arithmetic would undo). ``amp=True`` on a device other than CUDA is an
  error: CPU autocast would mean bfloat16, which is slower there and changes the
  results, so silently doing it or silently ignoring the request would both surprise.
* ``channels_last=None`` (default) is on for CUDA, off elsewhere. ``channels_last=True``
  is honoured on the CPU too: it is only a memory layout, valid everywhere, and gives the
  same numbers up to float rounding; it just brings no speed there.
"""

from __future__ import annotations

import torch


def resolve_device(device: str | torch.device) -> torch.device:
    """Return ``device`` as a ``torch.device``; a ValueError when it is unknown or absent."""
    if not isinstance(device, str | torch.device):
        raise ValueError(
            f"device must be a str such as 'cpu' or 'cuda', or a torch.device, "
            f"got {type(device).__name__}"
        )
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device must name a torch device such as 'cpu' or 'cuda': {err}") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(dev)!r} was asked for, but torch sees no CUDA device")
    return dev


def resolve_amp(amp: bool | None, device: torch.device, model: torch.nn.Module) -> bool:
    """Whether to train ``model`` on ``device`` with mixed precision (module docstring)."""
    if amp is None:
        dtypes = {p.dtype for p in model.parameters() if p.is_floating_point()}
        return device.type == "cuda" and dtypes <= {torch.float32}
    if amp and device.type != "cuda":
        raise ValueError(
            f"amp=True needs a CUDA device, got device={str(device)!r}; pass amp=None "
            "(mixed precision where it helps) or amp=False"
        )
    return bool(amp)


def resolve_channels_last(channels_last: bool | None, device: torch.device) -> bool:
    """Whether to keep 4-D weights and inputs in channels-last layout (module docstring)."""
    return device.type == "cuda" if channels_last is None else bool(channels_last)
