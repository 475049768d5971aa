"""``python -m autograder.instructor``: see :mod:`autograder.instructor.cli`."""

import sys

from autograder.instructor.cli import main

sys.exit(main())
