"""The in-sandbox runner: execute a restored notebook and leave ``results.json``.

Runs *inside* the sandbox from the student runtime (see :mod:`autograder.studentlib`),
so this package imports only the standard library, IPython, numpy and ``dlcourse``.
The package itself imports nothing: the grader imports the work-dir contract
(:mod:`autograder.runner.contract`) and the supervisor without pulling in IPython;
:func:`autograder.runner.execute.run_workdir` is what a job runs.
"""
