"""nbgrader's configuration for this repository (the course definition is course.toml).

It points nbgrader at the repository's layout: ``solutions/`` holds the source notebooks
(with solutions and hidden tests) and ``assignments/`` the student release. Releasing
goes through ``python -m autograder.instructor release``, which runs nbgrader's own
``generate_assignment`` and proves the result before anything reaches ``assignments/``.

Grading happens in a term workspace (``workspace/<term>/``, git-ignored), an nbgrader
course folder of its own with its own ``nbgrader_config.py`` and gradebook. To review
grades or score the written answers by hand with formgrader, start Jupyter there:

    cd workspace/2026-fall && jupyter lab     # then open the "Formgrader" tab

To preview a release with nbgrader alone, from the repository root:

    nbgrader generate_assignment a1 --config course/nbgrader_config.py --force
"""

import os

c = get_config()  # noqa: F821 -- provided by traitlets when nbgrader loads this file

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

c.CourseDirectory.course_id = "dlcourse"
c.CourseDirectory.root = REPO
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
# The check specs are trusted grading code: they never reach a release.
c.CourseDirectory.ignore = ["*.specs.py", ".ipynb_checkpoints", "__pycache__", "*.pyc"]
