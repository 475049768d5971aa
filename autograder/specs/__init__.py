"""Check specs (trusted side): per-student case inputs, the references, and the verdicts.

See ``docs/AUTOGRADER.md``. A specs file per notebook defines ``SPECS``; the grader
writes each student's inputs with :func:`write_inputs`, the sandbox records outputs
through :mod:`dlcourse.checks`, and :func:`decide` turns them into a
:class:`~autograder.job.TestVerdict`.
"""

from autograder.specs.cases import (
    make_case_inputs,
    reference_outputs,
    write_inputs,
    write_release_checks,
    write_visible_cases,
)
from autograder.specs.decide import decide
from autograder.specs.direct import direct_check
from autograder.specs.seeds import VISIBLE_STUDENT, case_rng
from autograder.specs.spec import (
    CheckSpec,
    SpecError,
    SpecRegistry,
    exercise,
    load_specs,
    reference_functions,
)

__all__ = [
    "VISIBLE_STUDENT",
    "CheckSpec",
    "SpecError",
    "SpecRegistry",
    "case_rng",
    "decide",
    "direct_check",
    "exercise",
    "load_specs",
    "make_case_inputs",
    "reference_functions",
    "reference_outputs",
    "write_inputs",
    "write_release_checks",
    "write_visible_cases",
]
