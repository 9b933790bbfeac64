"""The job pool at rest: nothing in it looks at its processes while no job is in flight."""

from __future__ import annotations

import asyncio
import time

from bolservice.pool import JobPool


def test_the_memory_watchdog_runs_only_while_a_job_is_in_flight():
    """The watchdog starts with the first job in flight and stops with the last one. The
    jobs sleep, and one process runs them in turn, so each is still in flight when looked
    at, whatever the host's speed."""

    async def run() -> None:
        pool = JobPool(1, timeout=30, memory_mb=1024)
        try:
            await pool.probe(60)  # the start-up's warm-up is a job too
            assert not pool.watching
            first = asyncio.create_task(pool.run(time.sleep, 0.3))
            second = asyncio.create_task(pool.run(time.sleep, 2))
            await asyncio.sleep(0)
            assert pool.watching
            await first
            assert pool.watching  # the second is still in flight
            await second
            assert not pool.watching
            assert await pool.run(sum, [1, 2]) == 3
            assert not pool.watching
        finally:
            pool.shutdown()

    asyncio.run(run())


def test_a_job_that_fails_leaves_no_watchdog_behind():
    async def run() -> None:
        pool = JobPool(1, timeout=30, memory_mb=1024)
        try:
            try:
                await pool.run(int, "not a number")
            except ValueError:
                pass
            assert not pool.watching
        finally:
            pool.shutdown()

    asyncio.run(run())


def test_without_a_memory_limit_there_is_no_watchdog():
    async def run() -> None:
        pool = JobPool(1, timeout=30, memory_mb=0)
        try:
            job = asyncio.create_task(pool.run(time.sleep, 0.2))
            await asyncio.sleep(0)
            assert not pool.watching
            await job
        finally:
            pool.shutdown()

    asyncio.run(run())
