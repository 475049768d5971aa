"""The adversarial corpus: hostile and control submissions of the fixture ``mini`` notebook.

- :mod:`corpus.notebooks`: the release, correct and wrong answers, writing submissions;
- :mod:`corpus.controls`: honest submissions with known scores;
- :mod:`corpus.attacks`: one declarative record per attack, built from the wrong base;
- :mod:`corpus.build`: lays out an nbgrader course holding all of them, with canaries;
- :mod:`corpus.audit`: after grading, the harm figures (inflation, leaks, leftovers);
- :mod:`corpus.grading`: grading a corpus course with the real driver;
- :mod:`corpus.front_door`: attacks through the course's own doors (the exchange's time
  and identity, a forbidden module), collected and graded with the instructor commands
  against a real course notebook.
- :mod:`corpus.course_attacks`: issue 11's attacks from what students are given, on the
  real course's ``a1/losses``, graded through the instructor commands.

Used by ``tests/autograder/test_corpus.py`` and ``benchmarks/bench_adversarial.py``.
"""
