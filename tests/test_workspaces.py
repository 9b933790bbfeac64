"""The workspace store and the locker, on a real filesystem and real processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from bolservice.backend import LockTimeout
from bolservice.locks import FileLease, FileLocker
from bolservice.store import WorkspaceStore
from bolservice.workspace import MANIFEST, InvalidSid, new_sid, short_sid, validate_sid


# The disk store's writes take the lease of a held lock; these tests of the store alone
# hold none, and make the lease the locker would give.
S1 = FileLease("s1")


@pytest.mark.parametrize("sid", ["a", "A-b_9", "x" * 128, new_sid()])
def test_valid_sids(sid):
    assert validate_sid(sid) == sid


@pytest.mark.parametrize("sid", ["", ".", "..", "a/b", "/etc", "a\\b", "a\x00b", "x" * 129, "é", "a b",
                                 "a\n", "a.b", "٣"])
def test_invalid_sids(sid):
    with pytest.raises(InvalidSid):
        validate_sid(sid)


def test_generated_sids_are_long_random_and_valid():
    sids = {new_sid() for _ in range(1000)}
    assert len(sids) == 1000 and all(validate_sid(s) and len(s) == 32 for s in sids)
    assert short_sid("abcdefghijkl") == "abcdefgh…"


def test_commit_names_new_files_and_removes_replaced_ones_and_leftovers(tmp_path):
    store = WorkspaceStore(tmp_path)
    manifest = store.create(S1)
    store.commit(S1, manifest, {"pdf_csv": b"first", "extraction": b"{}"})
    old_name = manifest.files["pdf_csv"]
    (store.path("s1") / ".pdf_csv.crash.tmp").write_bytes(b"half")  # a crash's leftover
    manifest.files.pop("extraction")
    store.commit(S1, manifest, {"pdf_csv": b"second"})
    assert sorted(os.listdir(store.path("s1"))) == sorted([MANIFEST, manifest.files["pdf_csv"]])
    assert manifest.files["pdf_csv"] != old_name
    again = store.manifest("s1")
    assert store.read(again, "pdf_csv") == b"second" and again.updated >= again.created


def test_the_listing_gives_each_file_and_its_size_as_on_disk(tmp_path):
    store = WorkspaceStore(tmp_path)
    manifest = store.create(S1)
    staged = tmp_path / "staged.pdf"
    staged.write_bytes(b"%PDF-" + b"x" * 999)
    store.commit(S1, manifest, {"pdf": staged, "pdf_csv": b"a,b\r\n", "extraction": b"{}"})
    manifest.files.pop("extraction")
    store.commit(S1, manifest, {"pdf_csv": b"a,b,c\r\n"})
    on_disk = {entry.name: entry.stat().st_size for entry in os.scandir(store.path("s1"))}
    listed_manifest, sizes = store.listing("s1")
    assert sizes == on_disk and len(on_disk) == 3 and listed_manifest == manifest
    assert store.listing("absent") is None


def test_staged_files_move_in_and_create_wipes(tmp_path):
    store = WorkspaceStore(tmp_path)
    manifest = store.create(S1)
    with store.scratch(".pdf") as staged:
        staged.write_bytes(b"%PDF-")
        store.commit(S1, manifest, {"pdf": staged})
        assert not staged.exists()
    assert store.read(store.manifest("s1"), "pdf") == b"%PDF-"
    assert store.create(S1).files == {}
    assert os.listdir(store.path("s1")) == [MANIFEST]
    assert not any(path.is_file() for path in (tmp_path / ".staging").rglob("*"))


def test_delete_is_whole_and_idempotent(tmp_path):
    store = WorkspaceStore(tmp_path)
    store.commit(S1, store.create(S1), {"pdf_csv": b"x"})
    assert store.delete(S1) is True and store.delete(S1) is False
    assert store.manifest("s1") is None and store.sids() == []
    assert os.listdir(tmp_path / ".trash") == []


# --- locks across processes ----------------------------------------------------------

def _hold_and_log(directory: str, sid: str, log: str, rounds: int) -> None:
    async def main() -> None:
        locker = FileLocker(Path(directory), timeout=30)
        for _ in range(rounds):
            async with locker.hold(sid):
                with open(log, "a") as out:
                    out.write(f"in {os.getpid()}\n")
                await asyncio.sleep(0.01)
                with open(log, "a") as out:
                    out.write(f"out {os.getpid()}\n")
    asyncio.run(main())


def _hold_for(directory: str, sid: str, seconds: float, ready) -> None:
    async def main() -> None:
        async with FileLocker(Path(directory), timeout=5).hold(sid):
            ready.set()
            await asyncio.sleep(seconds)
    asyncio.run(main())


def spawn(target, *args) -> multiprocessing.Process:
    process = multiprocessing.get_context("spawn").Process(target=target, args=args)
    process.start()
    return process


def test_lock_excludes_other_processes(tmp_path):
    log = tmp_path / "log"
    processes = [spawn(_hold_and_log, str(tmp_path), "s1", str(log), 15) for _ in range(3)]
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    lines = log.read_text().splitlines()
    assert len(lines) == 90
    for entered, left in zip(lines[::2], lines[1::2], strict=True):
        assert entered.startswith("in ") and left == "out " + entered[3:]


def test_other_process_holding_a_sid_blocks_it_only(tmp_path):
    ready = multiprocessing.get_context("spawn").Event()
    holder = spawn(_hold_for, str(tmp_path), "busy", 3.0, ready)
    assert ready.wait(30)
    locker = FileLocker(tmp_path, timeout=0.5)

    async def attempts() -> None:
        assert locker.is_held("busy") and not locker.is_held("free")
        async with locker.hold("free"):
            pass  # a different sid does not wait
        with pytest.raises(LockTimeout):
            async with locker.hold("busy"):
                pass

    asyncio.run(attempts())
    holder.join(30)
    asyncio.run(_acquire_once(locker, "busy"))
    assert not locker.is_held("busy")


async def _acquire_once(locker: FileLocker, sid: str) -> None:
    async with locker.hold(sid):
        assert locker.is_held(sid)


def test_lock_files_live_outside_workspaces_and_survive_a_clear(tmp_path):
    store = WorkspaceStore(tmp_path)
    locker = FileLocker(store.lock_directory, timeout=1)

    async def clear_under_lock() -> None:
        async with locker.hold("s1"):
            store.commit(S1, store.create(S1), {"pdf_csv": b"x"})
            store.delete(S1)
            assert (store.lock_directory / "s1.lock").exists()
            assert locker.is_held("s1")

    asyncio.run(clear_under_lock())
    assert not (tmp_path / "s1").exists()


def test_waiting_is_bounded_by_the_timeout(tmp_path):
    locker = FileLocker(tmp_path, timeout=0.3)

    async def contend() -> float:
        async with locker.hold("s1"):
            start = time.monotonic()
            with pytest.raises(LockTimeout):
                async with locker.hold("s1"):
                    pass
            return time.monotonic() - start

    assert asyncio.run(contend()) >= 0.3
