"""The graded exercises' references, one module per notebook, with the notebooks' signatures.

``dlcourse.exercises.<assignment>.<notebook>`` holds one function for every graded
function of that notebook, under the notebook's name and with its signature, so the
grader runs it through the same call pattern as the student's code
(:mod:`dlcourse.checks.calls`). Each is the course library's reference
(:mod:`dlcourse.functional`, :mod:`dlcourse.optim`, ...) re-exported where the
signatures agree, or a thin call into it where the notebook's form differs (separate
state arrays instead of a state dict, a flag instead of a mode string, ...).

Everything derives from these modules: the check specs (``exercise(test_id, call,
make_inputs, *references)`` in ``solutions/<a>/<notebook>.specs.py``), the widgets'
fallbacks when a student's function is missing, and what the grading runtime hides
(every module of the library is hidden there except an explicit allow-list, and the
release proves that no module named here, nor one it calls into, can be imported or
read inside the sandbox).
"""
