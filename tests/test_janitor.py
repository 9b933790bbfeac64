"""The janitor: idle workspaces expire; busy ones, and other janitors' rounds, are respected."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from dataclasses import asdict

import filelock
import pytest

from bolservice.janitor import Janitor
from bolservice.composer import DiskBackend
from bolservice.locks import FileLocker
from bolservice.store import WorkspaceStore, publish_bytes
from bolservice.workspace import MANIFEST
from tests.server import Server, lock_holder
from tests.test_api import PDF_ONLY, download, new_sid, upload
from tests.test_reliability import slow_pdf, wait_for


def aged(store: WorkspaceStore, sid: str, seconds: float) -> None:
    """Make a workspace look idle for ``seconds`` (commit would stamp the time anew)."""
    manifest = store.manifest(sid)
    manifest.updated -= seconds
    publish_bytes(store.path(sid), MANIFEST, json.dumps(asdict(manifest)).encode())


def test_only_one_janitor_works_at_a_time_and_lock_files_are_retired(tmp_path):
    store = WorkspaceStore(tmp_path)
    locker = FileLocker(store.lock_directory, timeout=1)
    deleted: list[int] = []
    janitor = Janitor(DiskBackend(store, locker), ttl=60, interval=3600, on_delete=lambda: deleted.append(1))

    async def scenario() -> None:
        for sid in ("old", "fresh", "gone"):
            async with locker.hold(sid) as lease:
                store.create(lease)
        aged(store, "old", 120)
        async with locker.hold("gone") as lease:
            store.delete(lease)  # a cleared workspace leaves its lock file behind
        other = filelock.FileLock(store.lock_directory / ".janitor.lock", thread_local=False)
        with other:  # another process's janitor is at work
            assert await janitor.sweep() == 0 and store.manifest("old") is not None
        assert await janitor.sweep() == 1

    asyncio.run(scenario())
    assert store.sids() == ["fresh"] and deleted == [1]
    assert sorted(os.listdir(store.lock_directory)) == [".janitor.lock", "fresh.lock"]


def test_a_workspace_in_use_is_never_deleted(tmp_path):
    store = WorkspaceStore(tmp_path)
    locker = FileLocker(store.lock_directory, timeout=1)
    janitor = Janitor(DiskBackend(store, locker), ttl=60, interval=3600)

    async def scenario() -> None:
        async with locker.hold("busy") as lease:
            store.create(lease)
            aged(store, "busy", 120)
            assert await janitor.sweep() == 0  # the janitor cannot have the lock: not idle
        assert await janitor.sweep() == 1

    asyncio.run(scenario())


@pytest.fixture(scope="module")
def expiring(tmp_path_factory):
    settings = {"workspace_ttl": 2, "janitor_interval": 0.3, "log_format": "json"}
    with Server(tmp_path_factory.mktemp("expiring") / "workspaces", **settings) as running:
        yield running


def test_idle_workspaces_expire_and_the_deletion_is_logged_without_the_sid(expiring):
    sid = new_sid()
    with expiring.client() as client:
        assert upload(client, sid).status_code == 200
        wait_for(lambda: client.get("/status", params={"_sid": sid}).json()["exists"] is False,
                 seconds=15, what="the janitor to delete the idle workspace")
        assert download(client, sid).status_code == 404
        deletions = [line for line in client.get("/metrics").text.splitlines()
                     if line.startswith("bolservice_janitor_deletions_total ")]
        assert deletions and float(deletions[0].split()[1]) >= 1
    assert not (expiring.root / sid).exists()
    wait_for(lambda: not (expiring.root / ".locks" / f"{sid}.lock").exists(), what="the lock file to go")
    log = expiring.log.read_text()
    assert sid not in log
    assert log.count(f'"sid": "{sid[:8]}\\u2026", "idle_seconds"') == 1  # deleted once, by one janitor


def test_the_janitor_never_deletes_under_a_running_upload(expiring):
    sid = new_sid()
    long_pdf = slow_pdf(number="J1")
    with expiring.client() as client:
        assert client.post("/new-session", params={"_sid": sid}).status_code == 200
        time.sleep(1.0)  # nearly expired; the upload below holds the lock past the TTL
        result = {}
        thread = threading.Thread(target=lambda: result.update(answer=upload(expiring.client(), sid, long_pdf)))
        thread.start()
        wait_for(lambda: lock_holder(expiring.root, sid), what="the upload to take the lock")
        assert (expiring.root / sid).exists()  # still there when the upload began
        thread.join(60)
        assert result["answer"].status_code == 200
        answer = download(client, sid)  # right after the upload committed
        assert answer.status_code == 200 and answer.content != PDF_ONLY
