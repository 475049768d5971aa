"""The attack registry: every attack on the fixture notebook, as declarative records.

Each :class:`~corpus.draft.Attack` has an id, a class (the issue's families), a one-line
summary and the edit that turns the honest-but-wrong base submission (every answer wrong,
so it scores :data:`BASE_SCORE`) into the attack. An attack may score at most what its
base scores: anything more is an inflation.
"""

from __future__ import annotations

from collections import Counter

from corpus.attacks_cheat import cheat_attacks
from corpus.attacks_escape import escape_attacks
from corpus.attacks_files import file_attacks
from corpus.attacks_ipc import ipc_attacks
from corpus.attacks_results import result_attacks
from corpus.draft import Attack, AttackContext, Draft
from corpus.notebooks import answers_with, expected_score, submission

QUICK_ATTACKS = (
    "files-symlink-source",
    "mp-checks",
    "it-events-post",
    "read-known-paths",
    "net-tcp",
    "gb-sqlite",
)
"""A six-attack subset of the most direct kinds: the default suite's and ``--quick``'s."""

BASE_SCORE: float = expected_score([])
"""What the honest-but-wrong base earns (0: every function is wrong on every case)."""


def all_attacks() -> list[Attack]:
    """Every attack, ids unique."""
    attacks = cheat_attacks() + result_attacks() + escape_attacks() + file_attacks()
    attacks += ipc_attacks()
    repeated = [key for key, count in Counter(a.id for a in attacks).items() if count > 1]
    assert not repeated, f"attack ids used twice: {repeated}"
    return attacks


def base_draft() -> Draft:
    """The honest-but-wrong submission every attack starts from."""
    return Draft(submission(answers_with([])))


def build_attack(attack: Attack, ctx: AttackContext) -> Draft:
    """The attack's submission folder, before it is written."""
    draft = base_draft()
    attack.apply(draft, ctx)
    return draft
