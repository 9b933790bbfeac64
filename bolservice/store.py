"""The disk backend's store: ``<root>/<sid>`` directories, published atomically
(backend.Store and backend.Listing).

The store owns every path. A sid is validated before any path is built from it, and the
names of files inside a workspace are chosen here, never taken from a request.

Each workspace has a manifest (``manifest.json``) that names its current files. It is the
commit point: new files are written under fresh names, then the manifest is replaced
atomically, then files it no longer names are removed. A crash at any moment leaves either
the old manifest with its files or the new one with its files, never a mix.

The store also keeps the workspaces' index (index.py), written after each commit point, so
that a listing costs the page it lists, not the root.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path

from .backend import Lease
from .index import WorkspaceIndex, manifest_stamp
from .processes import left_by_stopped_process, process_tag, scratch_file
from .workspace import MANIFEST, SID_PATTERN, Manifest, listed, short_sid, validate_sid

# Service directories under the root; a leading dot keeps them out of the sid namespace.
STAGING, TRASH, LOCKS = ".staging", ".trash", ".locks"

log = logging.getLogger("bolservice.store")


def publish_bytes(directory: Path, name: str, data: bytes) -> None:
    """Write ``directory/name`` so a reader sees the old file or the whole new one."""
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, directory / name)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    fsync_directory(directory)


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WorkspaceStore:
    def __init__(self, root: Path, min_free_mb: float = 0.0) -> None:
        self.root = root.resolve()
        self.min_free_mb = min_free_mb
        for name in (STAGING, TRASH, LOCKS):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        # Each process stages in its own directory, named by host and pid, so a sweep can
        # tell a crashed process's leftovers from a live one's uploads.
        self.staging = self.root / STAGING / process_tag(os.getpid())
        self.staging.mkdir(exist_ok=True)
        self.index = WorkspaceIndex(self.root)

    def sweep(self) -> list[str]:
        """Remove what crashed processes left: their staging directories, and the trash;
        what was removed, relative to the root."""
        removed = []
        for entry in os.scandir(self.root / STAGING):
            if left_by_stopped_process(entry.name):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(os.path.relpath(entry.path, self.root))
        for entry in os.scandir(self.root / TRASH):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(os.path.relpath(entry.path, self.root))
        return removed

    def tidy(self, lease: Lease) -> None:
        """Remove files the manifest does not name (a crash's leftovers)."""
        self._tidy(lease.sid)

    def _tidy(self, sid: str) -> None:
        directory = self.path(sid)
        if directory.is_dir():
            manifest = self.manifest(sid)
            self._remove_unlisted(directory, manifest.files.values() if manifest else ())

    @property
    def lock_directory(self) -> Path:
        return self.root / LOCKS

    def exists(self, sid: str) -> bool:
        return self.path(sid).is_dir()

    def changed_at(self, sid: str) -> float | None:
        manifest = self.manifest(sid)
        if manifest is not None:
            return manifest.updated
        try:  # a workspace without a manifest: a create cut short
            return self.path(sid).stat().st_mtime
        except FileNotFoundError:
            return None

    def checks(self) -> dict[str, bool]:
        return {"root_writable": self._writable(), "free_disk": self._free_mb() >= self.min_free_mb}

    def figures(self) -> dict[str, float]:
        return {"free_disk_mb": round(self._free_mb())}

    def _free_mb(self) -> float:
        return shutil.disk_usage(self.root).free / (1024 * 1024)

    def _writable(self) -> bool:
        try:
            with self.scratch(".health") as probe:
                probe.write_bytes(b"ok")
            return True
        except OSError:
            return False

    def path(self, sid: str) -> Path:
        return self.root / validate_sid(sid)

    def manifest(self, sid: str) -> Manifest | None:
        listed = self.listing(sid)
        return listed[0] if listed else None

    def listing(self, sid: str) -> tuple[Manifest, dict[str, int]] | None:
        """The manifest, and the size of each file it lists and of itself; None if none."""
        data = self.manifest_bytes(sid)
        try:
            return None if data is None else listed(data)
        except json.JSONDecodeError:
            return None

    def manifest_bytes(self, sid: str) -> bytes | None:
        """The manifest file as it is on disk; None if there is none."""
        try:
            with open(os.path.join(self.root, validate_sid(sid), MANIFEST), "rb") as handle:
                return handle.read()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def page(self, prefix: str = "", offset: int = 0, limit: int | None = None,
             after: str | None = None) -> list[tuple[str, str, bytes]]:
        """The ids, manifest stamps and manifest bytes of one page of workspaces, in id
        order, from the index: ids starting with ``prefix``, past ``offset`` of them or after the id
        ``after``, at most ``limit``."""
        return self.index.page(prefix, offset, limit, after)

    def count(self, prefix: str = "") -> int:
        return self.index.count(prefix)

    def idle_since(self, before: float) -> list[str]:
        """The ids of workspaces last changed before ``before`` (by the index)."""
        return self.index.idle_since(before)

    def reconcile(self) -> list[str]:
        """Bring the index back to the directories, and return the ids of directories
        without a manifest (a create cut short), which the index does not list.

        The directory is read, and the manifests whose file changed since the index last
        saw them; a crash between a commit and its index write, or a workspace made or
        removed behind the store's back, is repaired here.
        """
        known, changed, unfinished = self.index.stamps(), [], []
        present = set(self.sids())
        for sid in present:
            path = os.path.join(self.root, sid, MANIFEST)
            try:
                stamp = manifest_stamp(path)
                if known.get(sid) == stamp:
                    continue
                with open(path, "rb") as handle:
                    data = handle.read()
                changed.append((sid, json.loads(data)["updated"], stamp, data))
            except FileNotFoundError:
                unfinished.append(sid)
            except (NotADirectoryError, ValueError, KeyError, TypeError):
                log.warning("workspace %s has an unreadable manifest; it is not listed", short_sid(sid))
        self.index.repair(changed, [sid for sid in known if sid not in present], known,
                          lambda sid: os.path.isdir(os.path.join(self.root, sid)))
        return unfinished

    def create(self, lease: Lease) -> Manifest:
        """An empty workspace; an existing one is wiped first.

        The new one is made whole in the trash (swept at start) and renamed into place
        once the old one is gone, so a failure to make it (a full disk) leaves the old one
        as it was, and nothing behind.
        """
        sid = lease.sid
        directory = self.path(sid)
        made = self.root / TRASH / f"new-{sid}.{secrets.token_hex(4)}"
        made.mkdir()
        now = time.time()
        manifest = Manifest(session_id=sid, created=now, updated=now)
        data = manifest.to_bytes()
        try:
            publish_bytes(made, MANIFEST, data)
            self._delete(sid)
            os.rename(made, directory)
        except BaseException:
            shutil.rmtree(made, ignore_errors=True)
            raise
        self._index(sid, manifest, data)
        return manifest

    def delete(self, lease: Lease) -> bool:
        """Remove a workspace: one atomic rename into the trash, then the slow removal."""
        return self._delete(lease.sid)

    def _delete(self, sid: str) -> bool:
        directory = self.path(sid)
        trash = self.root / TRASH / f"{sid}.{secrets.token_hex(4)}"
        try:
            os.rename(directory, trash)
        except FileNotFoundError:
            return False
        self._unindex(sid)
        shutil.rmtree(trash, ignore_errors=True)
        return True

    def commit(self, lease: Lease, manifest: Manifest, new_files: Mapping[str, Path | bytes]) -> Manifest:
        """Publish ``new_files`` by role and a manifest naming them, then drop the rest.

        A Path is a staged file moved in (same filesystem); bytes are written out. A role
        mapped to nothing in ``manifest.files`` after the update is gone from the workspace.
        If the commit fails (a full disk), the workspace is left as its manifest on disk
        says: nothing it does not name stays.
        """
        if lease.sid != manifest.session_id:
            raise ValueError("a commit is made under its own workspace's lease")
        try:
            return self._commit(manifest, new_files)
        except BaseException:
            self._tidy(manifest.session_id)
            raise

    def _commit(self, manifest: Manifest, new_files: Mapping[str, Path | bytes]) -> Manifest:
        # A new file's name is fresh and no manifest names it until the new one is
        # published, so it is written in place (no temporary name, no rename of its own):
        # a crash leaves a file the next operation's tidy removes. One fsync of the
        # directory then makes every new name durable before the manifest names it.
        directory = self.path(manifest.session_id)
        for role, content in new_files.items():
            name = f"{role}-{secrets.token_hex(6)}"
            if isinstance(content, Path):
                _fsync_file(content)
                manifest.sizes[role] = content.stat().st_size
                os.replace(content, directory / name)
            else:
                _write_new(directory / name, content)
                manifest.sizes[role] = len(content)
            manifest.files[role] = name
        manifest.sizes = {role: size for role, size in manifest.sizes.items() if role in manifest.files}
        manifest.updated = time.time()
        fsync_directory(directory)
        data = manifest.to_bytes()
        publish_bytes(directory, MANIFEST, data)
        self._index(manifest.session_id, manifest, data)
        self._remove_unlisted(directory, manifest.files.values())
        return manifest

    def _index(self, sid: str, manifest: Manifest, data: bytes) -> None:
        """The index's row for a manifest just published. The manifest is the record: if
        the index cannot be written, the request still stands and ``reconcile`` (each
        janitor round) writes the row."""
        try:
            self.index.put(sid, manifest.updated, manifest_stamp(self.path(sid) / MANIFEST), data)
        except (OSError, sqlite3.Error):
            log.exception("the index was not updated for workspace %s; the janitor will", short_sid(sid))

    def _unindex(self, sid: str) -> None:
        try:
            self.index.remove(sid)
        except sqlite3.Error:
            log.exception("the index still lists the deleted workspace %s; the janitor will remove it",
                          short_sid(sid))

    def read(self, manifest: Manifest, role: str) -> bytes:
        with open(self.path(manifest.session_id) / manifest.files[role], "rb") as handle:
            return handle.read()

    def sids(self) -> list[str]:
        return [entry.name for entry in os.scandir(self.root)
                if entry.is_dir(follow_symlinks=False) and SID_PATTERN.fullmatch(entry.name)]

    def scratch(self, suffix: str = "") -> AbstractContextManager[Path]:
        """A fresh path under the root (so it can be moved into a workspace), removed after use."""
        return scratch_file(self.staging, suffix)

    @staticmethod
    def _remove_unlisted(directory: Path, listed) -> None:
        """Files the manifest does not name: replaced results and a crash's leftovers."""
        keep = {MANIFEST, *listed}
        for entry in os.scandir(directory):
            if entry.name not in keep:
                Path(entry.path).unlink(missing_ok=True)


def _write_new(path: Path, data: bytes) -> None:
    """Write a file that must not exist yet, durably (fsync'd; its name is not)."""
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
