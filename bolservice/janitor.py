"""Deletes workspaces left idle past their time to live, so abandoned uploads expire.

Every worker runs one; the locker lets only one of them work at a time among all that
share the backend (``Locker.lead``). A round first brings the listing back to the store
(in a thread: for a directory it reads the root), then asks the listing which workspaces
have been idle too long, so finding them costs what expired, not what the store holds. A
workspace is deleted only under its own lock, after checking again that it is idle, so
the janitor never deletes under a running request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from .backend import Backend, LockTimeout
from .workspace import short_sid

log = logging.getLogger("bolservice.janitor")

# How long the janitor waits for a workspace's lock: one in use is not idle, so it is skipped.
BUSY_WAIT = 0.1


class Janitor:
    def __init__(self, backend: Backend, ttl: float, interval: float,
                 on_delete: Callable[[], None] = lambda: None) -> None:
        self.store, self.locker, self.listing = backend.store, backend.locker, backend.listing
        self.ttl = ttl
        self.interval = interval
        self.on_delete = on_delete

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("janitor round failed; trying again next round")

    async def sweep(self) -> int:
        """One round: delete expired workspaces, retire locks of gone ones."""
        with self.locker.lead() as leading:
            if not leading:
                return 0  # another worker's janitor is at work
            deleted = 0
            unfinished = await asyncio.to_thread(self.listing.reconcile)
            for sid in await asyncio.to_thread(self._expired, unfinished):
                deleted += await self._delete_if_idle(sid)
            for sid in await asyncio.to_thread(self._orphan_locks):
                await self._retire_if_gone(sid)
            return deleted

    def _idle_seconds(self, sid: str, now: float) -> float | None:
        changed = self.store.changed_at(sid)
        return None if changed is None else now - changed

    def _expired(self, unfinished: list[str]) -> list[str]:
        """Workspaces idle past their time to live: by the listing, and among those kept
        without a manifest (creates cut short), by when they were begun."""
        now = time.time()
        return self.listing.idle_since(now - self.ttl) + [
            sid for sid in unfinished if (self._idle_seconds(sid, now) or 0) > self.ttl]

    def _orphan_locks(self) -> list[str]:
        return [sid for sid in self.locker.known() if not self.store.exists(sid)]

    async def _delete_if_idle(self, sid: str) -> bool:
        try:
            async with self.locker.hold(sid, timeout=BUSY_WAIT) as lease:
                idle = self._idle_seconds(sid, time.time())
                if idle is None or idle <= self.ttl:
                    return False
                await asyncio.to_thread(self.store.delete, lease)
                self.locker.retire(sid)
        except LockTimeout:
            return False
        log.info("deleted a workspace idle for %.0f s", idle, extra={"sid": short_sid(sid), "idle_seconds": round(idle)})
        self.on_delete()
        return True

    async def _retire_if_gone(self, sid: str) -> None:
        try:
            async with self.locker.hold(sid, timeout=BUSY_WAIT):
                if not self.store.exists(sid):
                    self.locker.retire(sid)
        except LockTimeout:
            pass
