"""Admission: a worker takes work while it will be done within its deadline.

How fast a worker gets through its jobs depends on the files, the machine and its
neighbours, so it is measured, not configured: while the worker is busy, the time between
one piece of work finishing and the next gives its pace (the median of the last 16, so
that one long file, a 2,000-page upload, does not make the worker look slow for the
small ones behind it). A new piece waits behind the
pieces already admitted; it is admitted while that wait at the measured pace, and its own
turn, fit within its deadline, and refused past that (503) with a ``Retry-After`` saying
when enough of the work ahead will be done. Until the worker has finished a piece, a piece
is taken to need a quarter of a second (a 13-page upload takes about a tenth), so a burst
on a fresh worker is neither all admitted blind nor refused for a pace it does not have. ``limit`` bounds what may wait at once, whatever the pace.
"""

from __future__ import annotations

import math
import statistics
import time
from collections import deque

# How much of a deadline the expected wait for the pool may use: the pace is an estimate,
# and a request also waits outside the pool (its body, its file operations).
_DEADLINE_SHARE = 0.6
# How many of the latest times between finishes the pace is the median of.
_KEPT = 16
# The pace taken before any is measured.
_FIRST_PACE = 0.25


class Overloaded(Exception):
    """More work than the worker can finish in time; try again after ``retry_after`` seconds."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(f"{reason}; retry after {retry_after} s (Retry-After)")
        self.retry_after = retry_after


class Admission:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self.pace = _FIRST_PACE  # seconds between finishes while busy
        self._intervals: deque[float] = deque(maxlen=_KEPT)
        self._last_finish: float | None = None  # while the worker is busy

    def admit(self, deadline: float) -> None:
        """Count a new piece of work with ``deadline`` seconds to be done, or refuse it."""
        ahead = self.active
        if ahead >= self.limit:
            raise Overloaded(f"the service holds as many parses and merges as it may (BOLSERVICE_MAX_QUEUE, "
                             f"{self.limit} a worker)", self._retry_after(ahead + 1 - self.limit))
        if (ahead + 1) * self.pace > deadline * _DEADLINE_SHARE and ahead:
            fits = max(1, math.floor(deadline * _DEADLINE_SHARE / self.pace))
            raise Overloaded(f"the work queued ahead (about {ahead * self.pace:.0f} s) would not let this "
                             f"file be done within its deadline ({deadline:.0f} s)",
                             self._retry_after(ahead + 1 - fits))
        if self.active == 0:
            self._last_finish = time.monotonic()  # a busy stretch starts
        self.active += 1

    def finish(self) -> None:
        """A piece of work admitted earlier is done (or failed)."""
        now = time.monotonic()
        self.active -= 1
        if self._last_finish is not None:
            self._intervals.append(now - self._last_finish)
            self.pace = statistics.median(self._intervals)
        self._last_finish = now if self.active else None

    def _retry_after(self, pieces: int) -> int:
        """Whole seconds until ``pieces`` more pieces of work are done, at least 1."""
        return max(1, math.ceil(pieces * self.pace))
