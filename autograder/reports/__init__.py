"""What comes out of a grading run: student feedback, the grades CSV, per-test pass rates
and score histograms. Every writer is atomic (temporary file, then rename).

Import the module you need (:mod:`.feedback`, :mod:`.export`, :mod:`.passrate`,
:mod:`.histogram`): the package re-exports nothing, so importing one does not load the
others (the histogram loads matplotlib).
"""
