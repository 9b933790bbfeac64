"""The one place a backend is built from the settings: ``BOLSERVICE_STORE`` unset is the
directory under ``BOLSERVICE_ROOT`` (store.py, locks.py, index.py); ``postgresql://…`` a
database every instance shares (postgres.py)."""

from __future__ import annotations

from dataclasses import dataclass

from .backend import Backend
from .config import Settings
from .locks import FileLocker
from .store import WorkspaceStore


@dataclass(frozen=True)
class DiskBackend:
    """Workspaces as directories, locked with flock, listed from a SQLite index: one truth
    for every process that shares the root."""

    store: WorkspaceStore
    locker: FileLocker

    @property
    def listing(self) -> WorkspaceStore:
        return self.store


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def compose(settings: Settings) -> Backend:
    if settings.store.startswith(POSTGRES_SCHEMES):
        from .postgres import PostgresBackend  # psycopg is loaded only by those who use it

        return PostgresBackend(settings.store, lock_timeout=settings.lock_timeout, lock_bound=settings.lock_bound)
    if settings.store:
        # The scheme alone: the rest may hold a password.
        raise SystemExit(f"BOLSERVICE_STORE={settings.store.split('://')[0]}://… is not a store bolservice "
                         "knows; use postgresql://…, or leave it unset for the directory under BOLSERVICE_ROOT")
    store = WorkspaceStore(settings.root, settings.min_free_mb)
    return DiskBackend(store, FileLocker(store.lock_directory, settings.lock_timeout))
