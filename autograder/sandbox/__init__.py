"""Run one submission's process tree under layered, reported isolation.

Always: own session and process group, hard rlimits, a wall-clock deadline
that SIGKILLs the whole tree, byte caps on output, a scrubbed environment and
a launcher that reaps every orphan. Where available: an unprivileged uid and
bubblewrap (no network, read-only view holding only whitelisted paths, private
pid namespace). Every run reports which layers it actually had.
"""

from autograder.sandbox.layers import IsolationReport, Layer, LayerStatus, detect_layers
from autograder.sandbox.limits import Limits
from autograder.sandbox.run import SandboxResult, SandboxUnavailable, run_sandboxed

__all__ = [
    "IsolationReport",
    "Layer",
    "LayerStatus",
    "Limits",
    "SandboxResult",
    "SandboxUnavailable",
    "detect_layers",
    "run_sandboxed",
]
