"""Admission against a simulated worker: what it admits is done in time, what the worker
can do is not refused, and refused clients are not all sent back at once.

The worker here is a queue served in bursts, as a real one is (pieces that wait on the
same processes, threads and disk finish together), with clients that send their next
piece as soon as one is done and wait out each refusal's Retry-After, as the bench's batch
scripts do. It runs on a clock of its own, so each test takes milliseconds and means the
same on any machine. The service's own admission is tested end to end in
test_reliability.py.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

from bolservice.admission import Admission, Overloaded, Ticket

CAPACITY = 10.0  # pieces a second the simulated worker finishes: 8 every 0.8 s


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Outcome:
    times: list[float] = field(default_factory=list)  # admitted pieces, admission to finish
    retry_afters: list[int] = field(default_factory=list)

    @property
    def finished(self) -> int:
        return len(self.times)


def run_worker(clients: int, *, seconds: float = 120.0, deadline: float = 10.0,
               burst: int = 8, every: float = 0.8, together: int = 8, cold: float = 0.0) -> Outcome:
    """``clients`` clients against a worker that finishes ``burst`` pieces, oldest first,
    every ``every`` seconds. ``together`` start at once and the others 10 s later, once the
    worker has measured its pace. For its first ``cold`` seconds, the worker finishes one
    piece every 0.4 s, a quarter of its pace, as a fresh one whose caches, threads and
    clients are still starting."""
    clock = Clock()
    admission = Admission(limit=10_000, clock=clock)
    queue: deque[tuple[Ticket, int]] = deque()
    tries = [(0.0 if client < together else 10.0, client) for client in range(clients)]  # (when, client)
    heapq.heapify(tries)
    outcome = Outcome()
    next_burst = 0.4 if cold else every
    while clock.now < seconds:
        clock.now = min(tries[0][0] if tries else next_burst, next_burst)
        if clock.now == next_burst:
            warm = clock.now >= cold
            next_burst += every if warm else 0.4
            for _ in range(min(burst if warm else 1, len(queue))):
                ticket, client = queue.popleft()
                admission.finish(ticket)
                outcome.times.append(clock.now - ticket.admitted_at)
                heapq.heappush(tries, (clock.now, client))
            continue
        _, client = heapq.heappop(tries)
        try:
            queue.append((admission.admit(deadline), client))
        except Overloaded as refusal:
            outcome.retry_afters.append(refusal.retry_after)
            heapq.heappush(tries, (clock.now + refusal.retry_after, client))
    return outcome


def test_what_a_worker_that_finishes_in_bursts_admits_is_done_within_the_deadline():
    """Most times between its finishes are zero: a pace taken from those would admit a
    queue that takes several deadlines."""
    outcome = run_worker(256)
    assert outcome.retry_afters, "256 clients at once against 10 pieces a second must be refused in part"
    assert max(outcome.times) <= 10.0, f"an admitted piece took {max(outcome.times):.1f} s against 10 s"


def test_a_worker_with_room_refuses_nothing():
    """40 clients keep 40 pieces queued: 4 s of work, within 60 % of the deadline."""
    assert run_worker(40).retry_afters == []


def test_a_fresh_worker_whose_first_pieces_are_slow_refuses_none_of_16_clients():
    """Sixteen clients at once on a fresh worker whose first pieces take four times their
    usual time (one every 0.4 s for a second, as measured on a fresh server while its
    clients start): their work is done in time, so none is refused for those pieces."""
    outcome = run_worker(16, together=16, cold=1.0)
    assert outcome.retry_afters == [] and max(outcome.times) <= 10.0


def test_a_worker_that_stays_slow_is_measured_within_a_window_and_still_refuses():
    """A worker that is slow for good (a quarter of its pace from start to end) is not
    taken for a fresh one: 64 clients are refused in part, and what is admitted is done
    in time."""
    outcome = run_worker(64, together=64, cold=120.0)
    assert outcome.retry_afters, "64 clients against 2.5 pieces a second must be refused in part"
    assert sorted(outcome.times)[int(0.99 * len(outcome.times))] <= 10.0


def test_refused_clients_come_back_spread_out_and_mostly_once():
    """Each refusal is a place in a line: the worker stays busy, and a client is refused
    about once for each piece it gets done, not once a second while it waits."""
    outcome = run_worker(256)
    assert outcome.finished >= 0.9 * CAPACITY * 120, f"{outcome.finished} pieces done in 120 s"
    assert len(outcome.retry_afters) <= 1.5 * outcome.finished, (
        f"{len(outcome.retry_afters)} refusals for {outcome.finished} pieces done")
    assert min(outcome.retry_afters) >= 1 and max(outcome.retry_afters) <= 256 / CAPACITY + 1


def test_one_long_piece_does_not_make_the_worker_refuse_the_small_ones_behind_it():
    clock = Clock()
    admission = Admission(limit=256, clock=clock)
    for _ in range(15):  # small pieces, one at a time, a tenth of a second each
        ticket = admission.admit(10.0)
        clock.now += 0.1
        admission.finish(ticket)
    heavy = admission.admit(60.0)  # a 2,000-page upload alone for 8 s
    clock.now += 8.0
    admission.finish(heavy)
    small = [admission.admit(10.0) for _ in range(40)]  # 40 at 0.1 s: 4 s, within 60 % of 10
    assert len(small) == 40 and admission.pace < 0.2
