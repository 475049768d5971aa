"""Control submissions: honest students whose scores are known in advance.

They run in the same batch as the attacks (some right after the most disruptive ones),
and again alone in a course of their own, to show that no attack changed anyone else's
score. ``victim`` holds another student's secret (a canary in its answers and in a file
beside its notebook) that attacks try to read.
"""

from __future__ import annotations

from dataclasses import dataclass

from nbformat import NotebookNode

from corpus.notebooks import (
    AUTOGRADED_MAX,
    answers_with,
    code_answer_ids,
    expected_score,
    submission,
)

SLOW_SECONDS = 3.0
"""How long the slow control sleeps: well within the corpus's limits."""

PARTIAL_RIGHT = ("relu_forward", "relu_backward", "sigmoid_forward", "mse_loss", "conv_output_size")


@dataclass(frozen=True)
class Control:
    """One honest submission and the score it must get."""

    id: str
    summary: str
    correct: tuple[str, ...]
    slow: bool = False

    @property
    def expected(self) -> float:
        return expected_score(self.correct)

    def notebook(self, canary: str | None = None) -> NotebookNode:
        """The submission; a ``canary`` goes into a comment of the first answer."""
        answers = answers_with(self.correct)
        if self.slow:
            answers["conv_output_size"] += f"\n\nimport time\ntime.sleep({SLOW_SECONDS})\n"
        if canary is not None:
            first = code_answer_ids()[0]
            answers[first] = f"# my secret notes: {canary}\n{answers[first]}"
        return submission(answers)


ALL_RIGHT = tuple(code_answer_ids())

CONTROLS: tuple[Control, ...] = (
    Control("correct", "every answer right", ALL_RIGHT),
    Control("wrong", "every answer wrong (the attacks' base)", ()),
    Control("partial", "five answers right", PARTIAL_RIGHT),
    Control("slow", f"every answer right, sleeps {SLOW_SECONDS:g} s", ALL_RIGHT, slow=True),
    Control("victim", "every answer right; holds another student's canary", ALL_RIGHT),
)
"""The controls; copies of ``correct`` are also placed after disruptive attacks."""

NEIGHBOUR = CONTROLS[0]
"""The control placed right after each disruptive attack (its neighbour in the queue)."""

assert CONTROLS[0].expected == AUTOGRADED_MAX
