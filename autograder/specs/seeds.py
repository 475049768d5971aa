"""Per-case random generators: different for every student, identical on every regrade.

A case's generator is seeded with a blake2b hash of ``(term_seed, student_id, test_id,
case)``, so inputs cannot be predicted from another student's, do not depend on the
order in which tests or students are graded, and come back the same when a submission
is graded again. The shipped visible cases use ``student_id = VISIBLE_STUDENT``.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

#: The pseudo student whose cases ship with the release as the visible checks.
VISIBLE_STUDENT = "__visible__"


def case_rng(term_seed: int, student_id: str, test_id: str, case: int) -> np.random.Generator:
    """The generator of one case's inputs."""
    if isinstance(term_seed, bool) or not isinstance(term_seed, int):
        raise TypeError(f"term_seed must be an int, got {term_seed!r}")
    if not isinstance(student_id, str) or not isinstance(test_id, str):
        raise TypeError("student_id and test_id must be strings")
    if isinstance(case, bool) or not isinstance(case, int) or case < 0:
        raise TypeError(f"case must be a non-negative int, got {case!r}")
    # JSON keeps the fields apart unambiguously ("a","bc" never hashes like "ab","c").
    key = json.dumps([term_seed, student_id, test_id, case]).encode()
    digest = hashlib.blake2b(key, digest_size=32, person=b"dlcourse-cases").digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))
