"""The workspaces' index: which workspaces exist, in id order, with their manifests.

Listing a large root by reading its directory costs what the root holds; support pages
through it every few seconds. So the store keeps this index beside the workspaces, in
SQLite (WAL mode, so readers never wait for the writer, and every worker sees a write
the moment it is committed) under ``<root>/.index/``. It is derived data: the manifest on
disk stays the commit point, the store writes a workspace's row after each change to it
(under the workspace's lock), and ``reconcile`` brings the index back to the directories
(at start, and on each janitor round) when a crash fell between the two writes or a
directory was made or removed behind the store's back.

Each row keeps the manifest's bytes and the manifest file's modification time, so a page
of the listing reads nothing else, and reconciling re-reads only the manifests that
changed.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

INDEX = ".index"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS workspaces (
    sid TEXT PRIMARY KEY,
    updated REAL NOT NULL,
    stamp TEXT NOT NULL,
    manifest BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS workspaces_by_updated ON workspaces (updated);
CREATE TABLE IF NOT EXISTS counts (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counts VALUES ('workspaces', (SELECT count(*) FROM workspaces));
CREATE TRIGGER IF NOT EXISTS counted_in AFTER INSERT ON workspaces
    BEGIN UPDATE counts SET value = value + 1 WHERE name = 'workspaces'; END;
CREATE TRIGGER IF NOT EXISTS counted_out AFTER DELETE ON workspaces
    BEGIN UPDATE counts SET value = value - 1 WHERE name = 'workspaces'; END;
"""
# Ids are ASCII letters, digits, '_' and '-', all below DEL: every id that starts with a
# prefix sorts between the prefix and the prefix followed by DEL.
_ABOVE_ANY_ID = "\x7f"


class WorkspaceIndex:
    """One SQLite database shared by every worker; a connection per thread."""

    def __init__(self, root: Path) -> None:
        directory = root / INDEX
        directory.mkdir(exist_ok=True)
        self.path = directory / "workspaces.sqlite3"
        self._local = threading.local()
        with self._connection() as db:
            db.executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            # A commit is durable once the WAL is; the manifest on disk is the record anyway.
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def put(self, sid: str, updated: float, stamp: str, manifest: bytes) -> None:
        self._connection().execute(
            "INSERT INTO workspaces VALUES (?, ?, ?, ?) ON CONFLICT (sid) DO UPDATE SET "
            "updated = excluded.updated, stamp = excluded.stamp, manifest = excluded.manifest",
            (sid, updated, stamp, manifest))

    def remove(self, sid: str) -> None:
        self._connection().execute("DELETE FROM workspaces WHERE sid = ?", (sid,))

    def count(self, prefix: str = "") -> int:
        db = self._connection()
        if not prefix:
            return db.execute("SELECT value FROM counts WHERE name = 'workspaces'").fetchone()[0]
        return db.execute("SELECT count(*) FROM workspaces WHERE sid >= ? AND sid < ?",
                          (prefix, prefix + _ABOVE_ANY_ID)).fetchone()[0]

    def page(self, prefix: str = "", offset: int = 0, limit: int | None = None,
             after: str | None = None) -> list[tuple[str, str, bytes]]:
        """The ids, stamps and manifests of one page, in id order: ids starting with
        ``prefix``, past ``offset`` of them, or after the id ``after``."""
        low = prefix if after is None or after < prefix else after
        comparison = ">=" if after is None or after < prefix else ">"
        return self._connection().execute(
            f"SELECT sid, stamp, manifest FROM workspaces WHERE sid {comparison} ? AND sid < ? ORDER BY sid "
            "LIMIT ? OFFSET ?",
            (low, prefix + _ABOVE_ANY_ID, -1 if limit is None else limit, offset)).fetchall()

    def idle_since(self, before: float) -> list[str]:
        """The ids of workspaces last changed before ``before``."""
        return [sid for sid, in self._connection().execute(
            "SELECT sid FROM workspaces WHERE updated < ? ORDER BY updated", (before,))]

    def stamps(self) -> dict[str, str]:
        return dict(self._connection().execute("SELECT sid, stamp FROM workspaces"))

    def repair(self, changed: Iterable[tuple[str, float, str, bytes]], gone: Iterable[str],
               seen: dict[str, str], exists: Callable[[str], bool]) -> None:
        """Put the rows of workspaces found changed and remove those found gone, in one
        transaction, given the stamps the index held when the directories were read
        (``seen``). Each row changes only if it still holds what was seen, and the
        workspace still is (or still is not) on disk once the index's write lock is held:
        a request that changed the workspace meanwhile has written, or will write, its own
        row, and that row wins."""
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO workspaces VALUES (?, ?, ?, ?) ON CONFLICT (sid) DO UPDATE SET "
                "updated = excluded.updated, stamp = excluded.stamp, manifest = excluded.manifest "
                "WHERE workspaces.stamp IS ?",
                ((*row, seen.get(row[0])) for row in changed if exists(row[0])))
            db.executemany("DELETE FROM workspaces WHERE sid = ? AND stamp = ?",
                           ((sid, seen[sid]) for sid in gone if not exists(sid)))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def manifest_stamp(path: str | os.PathLike) -> str:
    """What tells one version of a manifest file from the next: its inode and modification
    time (a manifest is replaced by a rename, so a new version is a new inode)."""
    info = os.stat(path)
    return f"{info.st_ino}:{info.st_mtime_ns}"
