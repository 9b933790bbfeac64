"""What the service needs of the place workspaces live: a store, a locker and a listing.

The service speaks workspaces, not paths: these Protocols carry the promises, and each
backend (``store.py`` + ``locks.py`` + ``index.py``, a directory; a shared database) says
only how it keeps them. ``composer.py`` builds one backend from the settings.

Every change to a workspace is made under its lock: ``Locker.hold`` yields a ``Lease``,
and the store's writes take it. A backend whose lock can be lost while it is held (a
database session cut, a host paused past the lock's bound) refuses a write made under a
lease it no longer holds (``LeaseLost``), so a stale holder never overwrites a newer result.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from pathlib import Path
from typing import Protocol

from .workspace import Manifest


class LockTimeout(Exception):
    """The workspace stayed busy for the whole wait."""


class LeaseLost(Exception):
    """The lock a write was made under is no longer held: nothing was written."""


class StoreUnavailable(Exception):
    """The store cannot be reached now; nothing was changed."""


class Lease(Protocol):
    """Proof of holding one workspace's lock, for as long as the ``hold`` block runs."""

    sid: str


class Locker(Protocol):
    def hold(self, sid: str, timeout: float | None = None) -> AbstractAsyncContextManager[Lease]:
        """Hold ``sid``'s lock for the block, excluding every other holder in this and every
        other process and host that shares the backend; LockTimeout if it cannot be had in
        time. A holder that dies releases it (within seconds, for a networked locker)."""

    def is_held(self, sid: str) -> bool:
        """Whether some request, anywhere, holds ``sid``'s lock now."""

    def held(self, sids: list[str]) -> set[str]:
        """Which of ``sids`` some request holds now, asked at once (a page of a listing)."""

    def known(self) -> list[str]:
        """The sids the locker keeps something for (a lock file), to be retired once gone."""

    def retire(self, sid: str) -> None:
        """Drop what the lock keeps for a sid whose workspace is gone. Call while holding
        the lock, as the last step before releasing it."""

    def lead(self) -> AbstractContextManager[bool]:
        """Whether this instance may do the janitor's round now: True for one instance at
        a time among all that share the backend, for the block."""


class Store(Protocol):
    """Workspaces and their files. A write (create, commit, delete, tidy) is atomic: a
    reader, in any process, sees the workspace as it was before or as it is after, never
    a part; a crash at any moment leaves one or the other."""

    def manifest(self, sid: str) -> Manifest | None:
        """What the workspace holds now; None if there is none."""

    def manifest_bytes(self, sid: str) -> bytes | None:
        """The manifest as stored (what a listing entry is made from); None if none."""

    def exists(self, sid: str) -> bool:
        """Whether anything is kept for ``sid``, a create cut short included."""

    def changed_at(self, sid: str) -> float | None:
        """When the workspace last changed (a create cut short: when it was begun)."""

    def create(self, lease: Lease) -> Manifest:
        """An empty workspace for the lease's sid; an existing one is wiped first. A
        failure leaves the old one as it was."""

    def commit(self, lease: Lease, manifest: Manifest, new_files: Mapping[str, Path | bytes]) -> Manifest:
        """Publish ``new_files`` by role (a Path is a scratch file, moved or copied in) and
        a manifest naming them, then drop the files it no longer names. A lease of another
        workspace is the caller's mistake (ValueError). A lease whose lock is gone: LeaseLost,
        or StoreUnavailable when the store is down or was restarted since the lock was taken."""

    def delete(self, lease: Lease) -> bool:
        """Remove the workspace; False if there was none."""

    def tidy(self, lease: Lease) -> None:
        """Remove what a crashed write left behind."""

    def read(self, manifest: Manifest, role: str) -> bytes:
        """The bytes of the file the manifest names for ``role``; FileNotFoundError if a
        later commit replaced it since the manifest was read (read under the lock)."""

    def scratch(self, suffix: str = "") -> AbstractContextManager[Path]:
        """A local file for a request body or a job's input, removed after the block."""

    def sweep(self) -> list[str]:
        """Remove what stopped processes left (scratch files, half-deleted workspaces)."""

    def checks(self) -> dict[str, bool]:
        """The store's health: each check by name, True when it passes."""

    def figures(self) -> dict[str, float]:
        """What an operator reads beside the checks in /health (free space, say)."""


class Listing(Protocol):
    """The workspaces in id order, each costing what its page costs, not what the store
    holds."""

    def page(self, prefix: str = "", offset: int = 0, limit: int | None = None,
             after: str | None = None) -> list[tuple[str, str, bytes]]:
        """One page: each workspace's id, a stamp that changes with its manifest, and the
        manifest's bytes; ids starting with ``prefix``, past ``offset`` of them or after the
        id ``after``, at most ``limit``."""

    def count(self, prefix: str = "") -> int:
        """How many workspaces have ids starting with ``prefix``."""

    def idle_since(self, before: float) -> list[str]:
        """The ids of workspaces last changed before ``before``."""

    def reconcile(self) -> list[str]:
        """Bring the listing back to the store; the ids kept without a manifest (creates
        cut short), which it does not list."""


class Backend(Protocol):
    store: Store
    locker: Locker
    listing: Listing
