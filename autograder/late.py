"""Late submissions: how many days late a submission is, and what that costs.

The rule, per notebook, as nbgrader applies its late-submission plugins per notebook:

- a submission at or before the due instant loses nothing;
- otherwise it is late by ``ceil(seconds late / 1 day)`` started days;
- up to ``max_late_days`` late days it loses ``penalty_per_day`` of its score per day
  (never more than the whole score);
- later than that it loses its whole score (it is recorded, so a TA can still see it).

Due instants are naive UTC datetimes, as nbgrader stores them in its gradebook.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

SECONDS_PER_DAY = 24 * 60 * 60


@dataclass(frozen=True)
class LateRule:
    """One assignment's due instant and the term's late policy."""

    due: datetime
    """Naive UTC."""
    penalty_per_day: float = 0.0
    """Fraction of the score lost per started late day, in [0, 1]."""
    max_late_days: int = 0
    """Late days still accepted with a penalty; later work scores zero."""

    def __post_init__(self) -> None:
        if self.due.tzinfo is not None:
            raise ValueError("due must be a naive UTC datetime, as nbgrader stores it")
        if not 0.0 <= self.penalty_per_day <= 1.0 or self.max_late_days < 0:
            raise ValueError("penalty_per_day must be in [0, 1] and max_late_days >= 0")

    def days_late(self, timestamp: datetime) -> int:
        """Started days after the due instant (0 when on time)."""
        seconds = (timestamp - self.due).total_seconds()
        return 0 if seconds <= 0 else math.ceil(seconds / SECONDS_PER_DAY)

    def penalty(self, score: float, timestamp: datetime | None) -> float:
        """Points lost by a notebook that scored ``score`` and was submitted at ``timestamp``.

        No timestamp (nothing says when it came in) means no penalty.
        """
        if timestamp is None or score <= 0:
            return 0.0
        days = self.days_late(timestamp)
        if days == 0:
            return 0.0
        if days > self.max_late_days:
            return float(score)
        return float(min(score, score * self.penalty_per_day * days))


__all__ = ["LateRule", "SECONDS_PER_DAY"]
