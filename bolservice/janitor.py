"""Deletes workspaces left idle past their time to live, so abandoned uploads expire.

Every worker runs one; a file lock lets only one of them work at a time across all
processes sharing the root. A round first brings the store's index back to the
directories (in a thread: it reads the root), then asks the index which workspaces have
been idle too long, so finding them costs what expired, not what the root holds. A
workspace is deleted only under its own lock, after checking again that it is idle, so
the janitor never deletes under a running request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import filelock

from .locks import FileLocker, LockTimeout
from .store import WorkspaceStore, short_sid

log = logging.getLogger("bolservice.janitor")

# How long the janitor waits for a workspace's lock: one in use is not idle, so it is skipped.
BUSY_WAIT = 0.1


class Janitor:
    def __init__(self, store: WorkspaceStore, locker: FileLocker, ttl: float, interval: float,
                 on_delete: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.locker = locker
        self.ttl = ttl
        self.interval = interval
        self.on_delete = on_delete
        self._gate = filelock.FileLock(store.lock_directory / ".janitor.lock", thread_local=False)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("janitor round failed; trying again next round")

    async def sweep(self) -> int:
        """One round: delete expired workspaces, retire lock files of gone ones."""
        try:
            self._gate.acquire(timeout=0)
        except filelock.Timeout:
            return 0  # another worker's janitor is at work
        try:
            deleted = 0
            unfinished = await asyncio.to_thread(self.store.reconcile)
            for sid in await asyncio.to_thread(self._expired, unfinished):
                deleted += await self._delete_if_idle(sid)
            for sid in await asyncio.to_thread(self._orphan_locks):
                await self._retire_if_gone(sid)
            return deleted
        finally:
            self._gate.release()

    def _idle_seconds(self, sid: str, now: float) -> float | None:
        manifest = self.store.manifest(sid)
        if manifest is not None:
            return now - manifest.updated
        try:  # a workspace without a manifest: a create cut short
            return now - self.store.path(sid).stat().st_mtime
        except FileNotFoundError:
            return None

    def _expired(self, unfinished: list[str]) -> list[str]:
        """Workspaces idle past their time to live: by the index, and among the directories
        without a manifest (creates cut short), by the directory's age."""
        now = time.time()
        return self.store.idle_since(now - self.ttl) + [
            sid for sid in unfinished if (self._idle_seconds(sid, now) or 0) > self.ttl]

    def _orphan_locks(self) -> list[str]:
        return [sid for sid in self.locker.locked_sids() if not self.store.path(sid).exists()]

    async def _delete_if_idle(self, sid: str) -> bool:
        try:
            async with self.locker.hold(sid, timeout=BUSY_WAIT):
                idle = self._idle_seconds(sid, time.time())
                if idle is None or idle <= self.ttl:
                    return False
                await asyncio.to_thread(self.store.delete, sid)
                self.locker.retire(sid)
        except LockTimeout:
            return False
        log.info("deleted a workspace idle for %.0f s", idle, extra={"sid": short_sid(sid), "idle_seconds": round(idle)})
        self.on_delete()
        return True

    async def _retire_if_gone(self, sid: str) -> None:
        try:
            async with self.locker.hold(sid, timeout=BUSY_WAIT):
                if not self.store.path(sid).exists():
                    self.locker.retire(sid)
        except LockTimeout:
            pass
