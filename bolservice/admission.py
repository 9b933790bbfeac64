"""Admission: a worker takes work while it will be done within its deadline.

How fast a worker gets through its jobs depends on the files, the machine and its
neighbours, so it is measured, not configured, in two ways over the last 48 pieces of
work (some five seconds of a busy worker: a dip of two seconds, as when dozens of clients
arrive at once, does not refuse work that would be done in time), each of which overstates
the cost of a piece of queue in one case:

- the mean time between finishes while the worker is busy: the queue drains at that rate
  (Little's law). Just after one long file, a 2,000-page upload during which nothing else
  finished, it is seconds;
- the median, over pieces, of the time from admission to finish divided by the pieces then
  ahead and itself. When pieces run side by side, one with a piece ahead takes little
  longer than one with none, and this overstates the cost of the pieces ahead.

The pace is the smaller of the two. The median of the times between finishes, the measure
first used, is neither: pieces finish in bursts (they wait on the same processes, threads
and disk), so most of those times are short, and their median was a third to a quarter of
the real cost: at 256 clients, admitted uploads took twice what admission expected.

A new piece is admitted while the pieces ahead of it, and itself, at that pace fit within
half its deadline, and refused past that (503) with a ``Retry-After`` saying when enough of
the work ahead will be done. Until the worker has finished a piece, a piece is taken to cost a
quarter of a second (a 13-page upload takes about a tenth), so a burst on a fresh worker
is neither all admitted blind nor refused for a pace it does not have. ``limit`` bounds
what may wait at once, whatever the pace.

Refused clients are given places in a line: each ``Retry-After`` is the time the work
ahead leaves room, but no earlier than a pace after the place given to the client refused
before it. Told only when the queue has room, every refused client would come back at the
same second, be refused again, mostly, and spend on refusals the machine the queue needs
(at 256 clients, 880 refusals in 20 s; 226 to 325 with the line).
"""

from __future__ import annotations

import math
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# How much of a deadline the expected wait may use: the pace is an estimate of a machine
# whose other work comes and goes, and a request also waits before it is admitted (its
# body, its staging). With 60 %, admitted uploads at 256 clients took up to 11 s of 10.
_DEADLINE_SHARE = 0.5
# How many of the latest finished pieces the pace is measured over.
_KEPT = 48
# The pace taken before any is measured.
_FIRST_PACE = 0.25


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
        self.pace = _FIRST_PACE  # seconds each piece of queue has cost, lately
        self._gaps: deque[float] = deque(maxlen=_KEPT)  # between finishes, while busy
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
