"""What every backend promises (bolservice/backend.py), tested once against each.

``disk`` is the directory under a root, as ``composer.compose`` builds it; ``postgres`` is
the shared store on a throwaway PostgreSQL cluster (tests/pgcluster.py; skipped, saying
why, where PostgreSQL is not installed). Two backend objects on the same root or database
are two hosts sharing one store. The fencing and outage tests are PostgreSQL's alone: a
flock lasts exactly as long as its process, so the disk has nothing to fence.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bolservice.backend import LeaseLost, LockTimeout, StoreUnavailable
from bolservice.config import Settings
from bolservice.workspace import listed
from tests.pgcluster import postgres_cluster, postgres_dsn  # noqa: F401  (fixtures; postgres_server is conftest's)

REPO = Path(__file__).resolve().parent.parent
BOUND = 2.0  # the PostgreSQL lock's bound in these tests, in seconds


@pytest.fixture(params=["disk", "postgres"])
def hosts(request, tmp_path):
    """Makes backends sharing one store, each as another host would have it."""
    made = []
    if request.param == "disk":
        try:
            from bolservice.composer import compose
        except ImportError:
            pytest.skip("disk backend not yet behind backend.py")

        make_store = str(tmp_path / "workspaces")

        def make(lock_timeout: float = 10.0):
            return compose(Settings(root=Path(make_store), lock_timeout=lock_timeout))
    else:
        from bolservice.postgres import PostgresBackend

        dsn = make_store = request.getfixturevalue("postgres_dsn")

        def make(lock_timeout: float = 10.0, lock_bound: float = BOUND):
            backend = PostgresBackend(dsn, lock_timeout=lock_timeout, lock_bound=lock_bound, pool_size=2,
                                      lock_pool_size=4)
            made.append(backend)
            return backend
    make.kind, make.store = request.param, make_store
    yield make
    for backend in made:
        backend.close()


@pytest.fixture
def pg_hosts(postgres_dsn):
    """PostgreSQL backends on a fresh database, for the tests that are PostgreSQL's alone."""
    from bolservice.postgres import PostgresBackend

    made = []

    def make(lock_timeout: float = 10.0, lock_bound: float = BOUND):
        made.append(PostgresBackend(postgres_dsn, lock_timeout=lock_timeout, lock_bound=lock_bound,
                                    pool_size=2, lock_pool_size=4))
        return made[-1]
    make.dsn = postgres_dsn
    yield make
    for backend in made:
        backend.close()


def run(coroutine):
    return asyncio.run(coroutine)


async def make_workspace(host, sid: str, files: dict | None = None):
    async with host.locker.hold(sid) as lease:
        manifest = host.store.create(lease)
        return host.store.commit(lease, manifest, files or {})


def test_a_workspace_is_created_committed_read_and_replaced(hosts, tmp_path):
    host = hosts()
    store = host.store
    big = os.urandom(2 * 1024 * 1024 + 17)  # past a chunk boundary of the PostgreSQL store
    assert store.manifest("ws-1") is None and not store.exists("ws-1") and store.changed_at("ws-1") is None

    async def steps():
        async with host.locker.hold("ws-1") as lease:
            assert lease.sid == "ws-1"
            before = time.time()
            manifest = store.create(lease)
            assert (manifest.session_id, manifest.files) == ("ws-1", {})
            assert store.exists("ws-1") and before - 1 <= store.changed_at("ws-1") <= time.time() + 1
            with store.scratch(".csv") as staged:
                staged.write_bytes(b"a,b\n1,2\n")
                first = store.commit(lease, manifest, {"pdf": big, "csv": staged, "empty": b""})
            assert first.sizes == {"pdf": len(big), "csv": 8, "empty": 0}
            assert store.read(first, "pdf") == big and store.read(first, "csv") == b"a,b\n1,2\n"
            assert store.read(first, "empty") == b""
            old = listed(store.manifest_bytes("ws-1"))[0]
            assert old == first == store.manifest("ws-1")

            first.files.pop("csv")
            second = store.commit(lease, first, {"pdf": b"%PDF new"})
            assert set(second.files) == {"pdf", "empty"} and second.sizes == {"pdf": 8, "empty": 0}
            assert store.manifest("ws-1") == second and store.read(second, "pdf") == b"%PDF new"
            for role in ("pdf", "csv"):  # the files the new manifest does not name are gone
                with pytest.raises(FileNotFoundError):
                    store.read(old, role)

            again = store.create(lease)  # an existing workspace is wiped
            assert again.files == {} and store.manifest("ws-1").files == {}
            with pytest.raises(FileNotFoundError):
                store.read(second, "pdf")
    run(steps())


def test_a_workspace_is_deleted(hosts):
    host = hosts()
    run(make_workspace(host, "gone", {"pdf": b"x" * 100}))
    assert host.listing.count() == 1

    async def delete():
        async with host.locker.hold("gone") as lease:
            return host.store.delete(lease), host.store.delete(lease)
    assert run(delete()) == (True, False)
    assert host.store.manifest("gone") is None and not host.store.exists("gone")
    assert host.store.manifest_bytes("gone") is None
    assert host.listing.count() == 0 and host.listing.page() == []


def test_a_commit_under_another_workspaces_lease_is_refused(hosts):
    host = hosts()
    run(make_workspace(host, "mine", {"pdf": b"mine"}))
    theirs = run(make_workspace(host, "theirs", {"pdf": b"theirs"}))

    async def trespass():
        async with host.locker.hold("mine") as lease:
            with pytest.raises(ValueError):
                host.store.commit(lease, theirs, {"pdf": b"overwritten"})
    run(trespass())
    assert host.store.read(host.store.manifest("theirs"), "pdf") == b"theirs"


def test_a_reader_during_commits_sees_the_old_file_or_the_new_whole(hosts):
    host = hosts()
    size = 2 * 1024 * 1024 + 5
    versions = [b"a" * size, b"b" * size]
    run(make_workspace(host, "busy", {"pdf": versions[0]}))
    done, seen, wrong = threading.Event(), [], []

    def reader():
        while not done.is_set():
            manifest = host.store.manifest("busy")
            try:
                data = host.store.read(manifest, "pdf")
            except FileNotFoundError:
                continue  # replaced since its manifest was read: the next read sees the new one
            (seen if data in versions else wrong).append(data[:1])

    async def writer():
        async with host.locker.hold("busy") as lease:
            manifest = host.store.manifest("busy")
            for turn in range(20):
                await asyncio.to_thread(host.store.commit, lease, manifest, {"pdf": versions[turn % 2]})

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for thread in readers:
        thread.start()
    try:
        run(writer())
    finally:
        done.set()
        for thread in readers:
            thread.join()
    assert not wrong, f"{len(wrong)} reads saw a file neither old nor new"
    assert seen


def test_two_hosts_exclude_each_other(hosts):
    first, second = hosts(), hosts()
    run(make_workspace(first, "shared", {}))

    async def bump(host):
        async with host.locker.hold("shared") as lease:
            manifest = host.store.manifest("shared")
            count = manifest.details.get("count", {}).get("n", 0)
            await asyncio.sleep(0.002)  # another holder would read the same count meanwhile
            manifest.details["count"] = {"n": count + 1}
            await asyncio.to_thread(host.store.commit, lease, manifest, {})

    async def crowd():
        await asyncio.gather(*(bump(first if turn % 2 else second) for turn in range(30)))
    run(crowd())
    assert first.store.manifest("shared").details["count"] == {"n": 30}

    async def one_then_the_other():
        async with first.locker.hold("shared"):
            assert first.locker.is_held("shared") and second.locker.is_held("shared")
            assert not second.locker.is_held("other")
            with pytest.raises(LockTimeout):
                async with second.locker.hold("shared", timeout=0.3):
                    pass
            async with second.locker.hold("other", timeout=1):  # another sid never waits
                pass
        assert not second.locker.is_held("shared")
        started = time.monotonic()
        async with second.locker.hold("shared", timeout=5):
            assert time.monotonic() - started < 1
    run(one_then_the_other())


def test_a_busy_lock_times_out_after_the_wait(hosts):
    first, second = hosts(), hosts(lock_timeout=0.8)

    async def wait():
        async with first.locker.hold("slow"):
            started = time.monotonic()
            with pytest.raises(LockTimeout):
                async with second.locker.hold("slow"):  # the backend's own wait
                    pass
            return time.monotonic() - started
    assert 0.8 <= run(wait()) < 2.5


def start_holder(store: str, sid: str, bound: float = BOUND) -> subprocess.Popen:
    """Another process holding ``sid``'s lock (tests/pgcluster.py ``holder``), once it says so."""
    holder = subprocess.Popen([sys.executable, "-m", "tests.pgcluster", "hold", store, sid, str(bound)],
                              cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_killed_holder_releases_its_lock_at_once(hosts):
    other = hosts()
    run(make_workspace(other, "killed", {"pdf": b"before"}))
    holder = start_holder(hosts.store, "killed", bound=60)  # freed by its death, not by the bound
    try:
        assert other.locker.is_held("killed")
    finally:
        holder.kill()
        holder.wait()

    async def proceed():
        started = time.monotonic()
        async with other.locker.hold("killed", timeout=5):
            return time.monotonic() - started
    assert run(proceed()) < 5
    manifest = other.store.manifest("killed")
    assert set(manifest.files) == {"pdf"} and other.store.read(manifest, "pdf") == b"before"


def test_listing_pages_prefixes_and_counts(hosts):
    host = hosts()
    ids = [f"{prefix}{number:03d}" for prefix in ("a-", "ab", "b_") for number in range(100)]
    stamps = {}

    async def make_all():
        for sid in reversed(ids):
            async with host.locker.hold(sid) as lease:
                host.store.commit(lease, host.store.create(lease), {"pdf": sid.encode()})
    run(make_all())
    listing = host.listing
    assert listing.count() == 300 and listing.count("a") == 200 and listing.count("ab") == 100
    assert listing.count("c") == 0 and listing.count("b_09") == 10

    every = listing.page()
    assert [sid for sid, _, _ in every] == sorted(ids)
    for sid, stamp, data in every:
        assert listed(data)[0].session_id == sid
        stamps[sid] = stamp
    pages, offset = [], 0
    while page := listing.page(limit=70, offset=offset):
        pages.append(page)
        offset += len(page)
    assert [len(page) for page in pages] == [70, 70, 70, 70, 20]
    assert [row for page in pages for row in page] == every

    after, walked = None, []
    while page := listing.page(prefix="a", limit=64, after=after):
        walked += [sid for sid, _, _ in page]
        after = page[-1][0]
    assert walked == sorted(sid for sid in ids if sid.startswith("a"))
    assert [sid for sid, _, _ in listing.page(prefix="ab", offset=95)] == [f"ab{n:03d}" for n in range(95, 100)]
    assert [sid for sid, _, _ in listing.page(prefix="b_", after="a-050", limit=2)] == ["b_000", "b_001"]
    assert listing.page(prefix="zz") == []

    assert sorted(listing.idle_since(time.time() + 1)) == sorted(ids)
    assert listing.idle_since(time.time() - 3600) == []
    assert listing.reconcile() == []

    async def touch():
        async with host.locker.hold("ab050") as lease:
            host.store.commit(lease, host.store.manifest("ab050"), {"csv": b"x"})
    run(touch())
    (sid, stamp, data), = listing.page(prefix="ab050")
    assert stamp != stamps["ab050"] and "csv" in listed(data)[0].files

    other = hosts()

    async def clear_some():  # two hosts at once, each its own ids
        async def clear(host, sid):
            async with host.locker.hold(sid) as lease:
                await asyncio.to_thread(host.store.delete, lease)
        await asyncio.gather(*(clear(other if number % 2 else host, f"b_{number:03d}") for number in range(40)))
    run(clear_some())
    assert listing.count() == other.listing.count() == 260 and listing.count("b_") == 60


def test_one_janitor_leads_at_a_time(hosts):
    first, second = hosts(), hosts()
    with first.locker.lead() as leading:
        assert leading
        with second.locker.lead() as also:
            assert not also
    with second.locker.lead() as leading:
        assert leading


def test_scratch_files_sweeping_and_checks(hosts):
    host = hosts()
    with host.store.scratch(".pdf") as path:
        assert path.name.endswith(".pdf") and path.exists()
        path.write_bytes(b"body")
    assert not path.exists()
    assert isinstance(host.store.sweep(), list)
    checks = host.store.checks()
    assert checks and all(checks.values()), checks


# -- PostgreSQL's alone: a holder that loses its session, a paused holder, an outage ---------

def terminate_holders(dsn: str, sid: str) -> int:
    """End, from another connection, every session that holds ``sid``'s lock."""
    import psycopg

    from bolservice.postgres import lock_key
    unsigned = lock_key(sid) & 0xFFFF_FFFF_FFFF_FFFF
    with psycopg.connect(dsn, autocommit=True) as conn:
        return len(conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 1",
            (unsigned >> 32, unsigned & 0xFFFF_FFFF)).fetchall())


def test_the_locks_held_among_a_page_of_ids_are_found_in_one_query(pg_hosts):
    first, second = pg_hosts(), pg_hosts()

    async def some_held():
        async with first.locker.hold("held-1"), second.locker.hold("held-2"):
            return second.locker.held(["held-1", "free-1", "held-2", "free-2"])
    assert run(some_held()) == {"held-1", "held-2"}
    assert first.locker.held(["held-1", "held-2"]) == set()


def test_a_holder_whose_session_is_killed_cannot_publish(pg_hosts):
    first, second = pg_hosts(), pg_hosts()
    run(make_workspace(first, "cut", {"pdf": b"before"}))

    async def race():
        async with first.locker.hold("cut") as lease:
            manifest = first.store.manifest("cut")
            assert terminate_holders(pg_hosts.dsn, "cut") == 1
            started = time.monotonic()
            async with second.locker.hold("cut", timeout=5) as other:
                assert time.monotonic() - started < 2  # the lock went with the session
                with pytest.raises(LeaseLost):
                    first.store.commit(lease, manifest, {"pdf": b"stale"})
                assert second.store.read(second.store.manifest("cut"), "pdf") == b"before"
                second.store.commit(other, second.store.manifest("cut"), {"pdf": b"newer"})
            with pytest.raises(LeaseLost):  # and it stays refused
                first.store.delete(lease)
    run(race())
    assert first.store.read(first.store.manifest("cut"), "pdf") == b"newer"
    assert not first.locker.is_held("cut")


def test_a_restart_under_a_holder_refuses_its_write_as_the_stores_failure(pg_hosts, postgres_cluster):
    host = pg_hosts()
    run(make_workspace(host, "restarted", {"pdf": b"before"}))

    async def restart_under():
        async with host.locker.hold("restarted") as lease:
            manifest = host.store.manifest("restarted")
            postgres_cluster.restart()
            with pytest.raises(StoreUnavailable):
                host.store.commit(lease, manifest, {"pdf": b"after"})
    run(restart_under())
    assert host.store.read(host.store.manifest("restarted"), "pdf") == b"before"
    assert not host.locker.is_held("restarted")


def test_a_holder_that_keeps_its_heartbeat_keeps_its_lock_past_the_bound(pg_hosts):
    first, second = pg_hosts(lock_bound=1.5), pg_hosts()
    run(make_workspace(first, "steady", {}))

    async def hold_long():
        async with first.locker.hold("steady") as lease:
            await asyncio.sleep(3.5)  # idle on the server's side for over two bounds but for the heartbeat
            with pytest.raises(LockTimeout):
                async with second.locker.hold("steady", timeout=0.2):
                    pass
            first.store.commit(lease, first.store.manifest("steady"), {"pdf": b"kept"})
    run(hold_long())
    assert first.store.read(first.store.manifest("steady"), "pdf") == b"kept"


def test_a_paused_holder_loses_its_lock_past_the_bound_and_cannot_publish(pg_hosts):
    other = pg_hosts()
    holder = start_holder(pg_hosts.dsn, "paused")
    try:
        os.kill(holder.pid, signal.SIGSTOP)

        async def proceed():
            started = time.monotonic()
            async with other.locker.hold("paused", timeout=BOUND + 10) as lease:
                waited = time.monotonic() - started
                other.store.commit(lease, other.store.manifest("paused"), {"note": b"newer"})
            return waited
        waited = run(proceed())
        assert BOUND * 0.5 <= waited <= BOUND + 8, waited
        os.kill(holder.pid, signal.SIGCONT)
        output, _ = holder.communicate("older\n", timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert output.split() == ["lost", "LeaseLost"], output
    assert other.store.read(other.store.manifest("paused"), "note") == b"newer"


def test_an_outage_is_store_unavailable_and_afterwards_everything_works(pg_hosts, postgres_cluster):
    from bolservice.postgres import PostgresBackend

    first, second = pg_hosts(), pg_hosts()
    run(make_workspace(first, "steady", {"pdf": b"before"}))
    empty, late = postgres_cluster.database(), []

    async def through_an_outage():
        async with first.locker.hold("steady") as lease:
            manifest = first.store.manifest("steady")
            postgres_cluster.stop()
            try:
                late.append(PostgresBackend(empty, lock_bound=BOUND))  # an instance starting now
                with pytest.raises(StoreUnavailable):
                    late[0].store.manifest("steady")
                for read in (lambda: first.store.manifest("steady"), first.listing.page, first.listing.count,
                             lambda: first.locker.is_held("steady"), lambda: first.store.read(manifest, "pdf")):
                    with pytest.raises(StoreUnavailable):
                        read()
                with pytest.raises(StoreUnavailable):
                    async with second.locker.hold("steady", timeout=3):
                        pass
                with pytest.raises(StoreUnavailable):
                    first.store.commit(lease, manifest, {"pdf": b"during"})
                assert first.store.checks() == {"store_reachable": False}
            finally:
                postgres_cluster.start_again()
            started = time.monotonic()  # the pools' reconnection, backing off, is not waited for
            assert first.store.read(first.store.manifest("steady"), "pdf") == b"before"
            assert time.monotonic() - started < 2
            # The restart ended the holder's session: its lock is gone, and so is its right to
            # write, refused as the store's failure, not as a lock lost to another.
            with pytest.raises(StoreUnavailable):
                first.store.commit(lease, manifest, {"pdf": b"after"})
            async with second.locker.hold("steady", timeout=5) as other:
                second.store.commit(other, second.store.manifest("steady"), {"pdf": b"afterwards"})
    run(through_an_outage())
    assert first.store.checks() == {"store_reachable": True}
    assert first.store.read(first.store.manifest("steady"), "pdf") == b"afterwards"
    assert not first.locker.is_held("steady") and first.listing.count() == 1
    try:  # the instance that started during the outage made its tables once it could
        run(make_workspace(late[0], "later", {"pdf": b"made"}))
        assert late[0].store.read(late[0].store.manifest("later"), "pdf") == b"made"
    finally:
        late[0].close()
