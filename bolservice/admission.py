"""Admission: a worker takes work while it will be done within its deadline.

How fast a worker gets through its jobs depends on the files, the machine and its
neighbours, so it is measured, not configured, in two ways over the last pieces of work,
each of which overstates the cost of a piece of queue in one case:

- the mean time between finishes while the worker is busy: the queue drains at that rate
  (Little's law). Just after one long file, during which nothing else finished, it is
  seconds;
- the median, over pieces, of the time from admission to finish divided by the pieces then
  ahead and itself. When pieces run side by side, one with a piece ahead takes little
  longer than one with none, and this overstates the cost of the pieces ahead.

The pace is the smaller of the two. Pieces finish in bursts (they wait on the same
processes, threads and disk), so the median of the times between finishes would be a
fraction of the real cost; the mean is not.

The mean between finishes starts from a prior: ``_PRIOR_PIECES`` pieces of
``_PRIOR_PACE`` each, which measured pieces push out of the window. A fresh worker's first
pieces are slow for reasons that do not last (a crowd arriving at once: its bodies, the
worker's threads and connections made on first use), and measured alone, one of them set
the pace for the next dozen and refused work a warm worker does in a second. Weighed
against the prior, a few slow pieces move the pace part of the way; a worker that stays
slow moves it all the way within a few pieces, and the median, which has no prior,
follows it at once.

A new piece is admitted while the pieces ahead of it, and itself, at that pace fit within
half its deadline, and refused past that (503) with a ``Retry-After`` saying when enough of
the work ahead will be done; the other half is for the time before admission (the body,
its staging) and for the pace's error as the machine's other work comes and goes.
``limit`` bounds what may wait at once, whatever the pace. Only work is counted: the
service admits a piece once it holds the workspace's lock, so requests that wait for one
workspace are not queue.

Refused clients are given places in a line: each ``Retry-After`` is the time the work
ahead leaves room, but no earlier than a pace after the place given to the client refused
before it. Told only when the queue has room, every refused client would come back at the
same second, be refused again, mostly, and spend on refusals the machine the queue needs.
"""

from __future__ import annotations

import math
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# How much of a deadline the expected wait may use (docs/BENCHMARKS.md: with 60 %,
# admitted uploads at 256 clients overran).
_DEADLINE_SHARE = 0.5
# How many of the latest finished pieces the pace is measured over, the prior's included.
_KEPT = 48
# The prior of the mean between finishes: a piece of a worker's usual work (a BOL of a
# dozen pages, a spreadsheet) costs well under this; it counts as this many pieces.
_PRIOR_PACE = 0.25
_PRIOR_PIECES = 4


class Overloaded(Exception):
    """More work than the worker can finish in time; try again after ``retry_after`` seconds."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(f"{reason}; retry after {retry_after} s (Retry-After)")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Ticket:
    """An admitted piece of work: when it was admitted, and how many pieces were ahead."""

    admitted_at: float
    ahead: int


class Admission:
    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.active = 0
        self.pace = _PRIOR_PACE  # seconds each piece of queue has cost, lately
        self._gaps = deque([_PRIOR_PACE] * _PRIOR_PIECES, maxlen=_KEPT)  # between finishes, while busy
        self._shares: deque[float] = deque(maxlen=_KEPT)  # each piece's time ÷ (ahead + 1)
        self._last_finish: float | None = None  # while the worker is busy
        self._clock = clock
        self._line_ends = 0.0  # when the last place given to a refused client comes up

    def admit(self, deadline: float) -> Ticket:
        """Count a new piece of work with ``deadline`` seconds to be done, or refuse it."""
        ahead = self.active
        if ahead >= self.limit:
            raise Overloaded(f"the service holds as many parses and merges as it may (BOLSERVICE_MAX_QUEUE, "
                             f"{self.limit} a worker)", self._place_in_line(ahead + 1 - self.limit))
        if ahead and (ahead + 1) * self.pace > deadline * _DEADLINE_SHARE:
            fits = max(1, math.floor(deadline * _DEADLINE_SHARE / self.pace))
            raise Overloaded(f"the work queued ahead (about {ahead * self.pace:.0f} s) would not let this "
                             f"file be done within its deadline ({deadline:.0f} s)",
                             self._place_in_line(ahead + 1 - fits))
        now = self._clock()
        if self.active == 0:
            self._last_finish = now  # a busy stretch starts
        self.active += 1
        return Ticket(now, ahead)

    def finish(self, ticket: Ticket) -> None:
        """A piece of work admitted earlier is done (or failed)."""
        now = self._clock()
        self.active -= 1
        if self._last_finish is not None:
            self._gaps.append(now - self._last_finish)
        self._last_finish = now if self.active else None
        self._shares.append((now - ticket.admitted_at) / (ticket.ahead + 1))
        self.pace = min(statistics.fmean(self._gaps), statistics.median(self._shares))

    def _place_in_line(self, excess: int) -> int:
        """Whole seconds, at least 1, until ``excess`` more pieces of work are done and the
        clients refused before this one have had their turns."""
        now = self._clock()
        turn = max(now + excess * self.pace, self._line_ends + self.pace)
        self._line_ends = turn
        return max(1, math.ceil(turn - now))
