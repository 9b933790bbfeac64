"""The shared backend: workspaces in PostgreSQL, locked with its advisory locks
(``BOLSERVICE_STORE=postgresql://…``), for any number of instances on any number of hosts.

How it keeps backend.py's promises:

- A workspace is a row of ``bolservice.workspaces`` (its manifest's bytes, when it last
  changed, a generation) and its files are rows of ``bolservice.files``, each file cut in
  chunks of ``CHUNK`` bytes. A write is one transaction: the new files' chunks, the
  manifest row swapped, the chunks of the files it no longer names deleted. A reader sees
  the transaction whole or not at all, and a crash rolls it back: nothing is left to tidy.
- A workspace's lock is a session-level advisory lock on a 64-bit hash of its id, taken by
  polling ``pg_try_advisory_lock`` on a connection that the hold keeps for itself. The
  lease carries that connection and every write under the lease runs on it, so a holder
  whose session ended (killed, cut off, its server restarted) can no longer write: its
  lock went with its session. The row's generation, read when the lock is taken and
  compared when it is written, refuses a write that anything else preceded.
- The lock has a bound (``lock_bound`` seconds): its session ends when it stays idle that
  long (``idle_session_timeout``, and ``idle_in_transaction_session_timeout`` inside a
  write), and a thread of this process runs ``SELECT 1`` on every held lock's connection
  three times a bound. A process that stops (paused, partitioned) misses them: the server
  ends its session, the lock is free for others, and the paused holder's write after it
  resumes is refused. A write never uses COPY, whose wait for data is not idle time.
- The listing is a query on the workspace table, in id order, at the cost of its page;
  the number of all workspaces is a row that the inserts and deletes keep (a trigger).
- Anything the server cannot answer raises ``StoreUnavailable``; a full disk on the server
  is an ``OSError`` with ENOSPC, as the directory's is.

Connections: ``pool_size`` for reads and listings and ``lock_pool_size`` for held locks,
per process. A hold waiting for a connection of the lock pool counts that wait in its
lock wait (a 409 past it). A process opens at most the sum of both (4 + 16 by default):
keep instances × workers × that under the server's ``max_connections``. Make the backend
in the process that uses it: its pools and its heartbeat thread do not survive a fork.
"""

from __future__ import annotations

import asyncio
import collections
import errno
import functools
import hashlib
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from .backend import LeaseLost, LockTimeout, StoreUnavailable
from .processes import left_by_stopped_process, process_tag, scratch_file
from .turns import Turns
from .workspace import Manifest, listed, short_sid, validate_sid

CHUNK = 1024 * 1024
# Ids are ASCII letters, digits, '_' and '-', all below DEL: every id that starts with a
# prefix sorts between the prefix and the prefix followed by DEL (the ids' collation is C).
_ABOVE_ANY_ID = "\x7f"
# The janitor's leader lock: the two-key form of advisory locks, which no sid's key
# (one bigint) can take.
_LEADER = (0x626F6C73, 1)
_SCHEMA_LOCK = (0x626F6C73, 2)

_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS bolservice;
CREATE SEQUENCE IF NOT EXISTS bolservice.generations;
CREATE TABLE IF NOT EXISTS bolservice.workspaces (
    sid text COLLATE "C" PRIMARY KEY,
    updated double precision NOT NULL,
    generation bigint NOT NULL,
    manifest bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS workspaces_by_updated ON bolservice.workspaces (updated);
-- How many workspaces there are, kept by the inserts and deletes themselves: the listing
-- says it with every page, and counting the rows costs what the store holds.
CREATE TABLE IF NOT EXISTS bolservice.counts (name text PRIMARY KEY, value bigint NOT NULL);
INSERT INTO bolservice.counts SELECT 'workspaces', count(*) FROM bolservice.workspaces ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION bolservice.count_workspaces() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE bolservice.counts SET value = value + CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END
        WHERE name = 'workspaces';
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER counted AFTER INSERT OR DELETE ON bolservice.workspaces
    FOR EACH ROW EXECUTE FUNCTION bolservice.count_workspaces();
CREATE TABLE IF NOT EXISTS bolservice.files (
    sid text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    seq integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (sid, name, seq)
);
"""

log = logging.getLogger("bolservice.postgres")


def lock_key(sid: str) -> int:
    """The advisory lock key of a sid: 64 bits of its hash, signed as PostgreSQL's bigint."""
    digest = hashlib.blake2b(sid.encode(), digest_size=8, person=b"bolservice-lock").digest()
    return int.from_bytes(digest, "big", signed=True)


class _Session:
    """A connection of the lock pool, held for one lock (or the janitor's) while it is held.
    Its lock serialises the heartbeat, the writes and the release."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()
        self.lost = False  # the heartbeat or a write found the session gone
        self.server_started = None  # the server's start time when the lock was taken
        self.done = False  # given back to the pool: nothing may use it again

    def ping(self) -> None:
        if not self.lock.acquire(blocking=False):
            return  # a write is running on it: the session is not idle
        try:
            if not (self.lost or self.done):
                self.conn.execute("SELECT 1")
        except psycopg.Error:
            self.lost = True
        finally:
            self.lock.release()


class _Pulse:
    """One thread that keeps every held lock's session from going idle past the bound."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.sessions: set[_Session] = set()
        self._stop = threading.Event()
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, session: _Session) -> None:
        with self._guard:
            self.sessions.add(session)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="bolservice-pg-pulse", daemon=True)
                self._thread.start()

    def discard(self, session: _Session) -> None:
        with self._guard:
            self.sessions.discard(session)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self._guard:
                sessions = list(self.sessions)
            for session in sessions:
                session.ping()

    def stop(self) -> None:
        self._stop.set()


@dataclass
class PgLease:
    """A held workspace lock: the session that holds it, and the workspace's generation as
    this holder last saw it (None: no workspace)."""

    sid: str
    session: _Session
    generation: int | None


class PostgresBackend:
    """Store, locker and listing on one PostgreSQL database (backend.Backend)."""

    POLL_FIRST, POLL_MAX = 0.002, 0.05
    PROBE_EVERY = 0.5  # a wait for a pooled connection asks whether the server is up this often

    def __init__(self, dsn: str, *, lock_timeout: float = 30.0, lock_bound: float = 10.0,
                 pool_size: int = 4, lock_pool_size: int = 16, connect_timeout: float = 5.0) -> None:
        if lock_bound < 1:
            raise ValueError("the lock's bound must be at least a second")
        self.dsn = dsn
        self.timeout = lock_timeout
        self.bound = lock_bound
        self.connect_timeout = connect_timeout
        self.store = self.locker = self.listing = self
        self._pulse = _Pulse(lock_bound / 3)
        # Threads for the locks' blocking calls: those waiting for a connection of the lock
        # pool apart, so that they never delay the calls that give connections back.
        self._executor = ThreadPoolExecutor(lock_pool_size + 2, thread_name_prefix="bolservice-pg-lock")
        self._borrowers = ThreadPoolExecutor(2 * lock_pool_size, thread_name_prefix="bolservice-pg-wait")
        self._turns = Turns()
        self._scratch: tuple[int, Path] | None = None
        # Connections out of each pool, and those made outside them (see _get).
        self._out: collections.Counter[str] = collections.Counter()
        self._direct_conns: set[psycopg.Connection] = set()
        self._counting = threading.Lock()
        self._connect = {
            "autocommit": True, "connect_timeout": max(1, round(connect_timeout)),
            "application_name": "bolservice",
            # A peer that vanished (its host cut off) is noticed within a bound or so.
            "keepalives": 1, "keepalives_idle": max(1, round(lock_bound / 2)),
            "keepalives_interval": 1, "keepalives_count": 3,
            "tcp_user_timeout": int(lock_bound * 1000),
        }
        self._schema_made = False
        try:
            self._create_schema()
        except StoreUnavailable as error:  # an instance starts while the server is down
            log.warning("%s; the schema is made at the first request that reaches it", error)
        check = ConnectionPool.check_connection  # a connection the server dropped is replaced
        self._pool = ConnectionPool(dsn, kwargs=self._connect, min_size=1, max_size=pool_size,
                                    check=check, name="bolservice-store", open=False)
        self._locks = ConnectionPool(dsn, kwargs=self._connect, min_size=1, max_size=lock_pool_size,
                                     check=check, name="bolservice-locks", open=False)
        self._pool.open(wait=False)
        self._locks.open(wait=False)

    def _create_schema(self) -> None:
        """The schema and its tables, made once by whichever process gets there first."""
        if self._schema_made:
            return
        try:
            with psycopg.connect(self.dsn, **self._connect) as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", _SCHEMA_LOCK)  # one creator at a time
                conn.execute(_SCHEMA)
        except psycopg.OperationalError as error:
            raise StoreUnavailable(f"the PostgreSQL store cannot be reached: {error}") from error
        self._schema_made = True

    def close(self) -> None:
        self._pulse.stop()
        self._pool.close()
        self._locks.close()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._borrowers.shutdown(wait=False, cancel_futures=True)

    # -- connections ------------------------------------------------------------------

    def reachable(self) -> bool:
        """Whether the server accepts a new connection now (not one of the pools')."""
        conn = self._direct()
        if conn is not None:
            conn.close()
        return conn is not None

    def _direct(self) -> psycopg.Connection | None:
        """A new connection outside the pools, or None if the server does not take one."""
        try:
            conn = psycopg.connect(self.dsn, **{**self._connect, "connect_timeout": 2})
            conn.execute("SELECT 1")
            return conn
        except psycopg.Error:
            return None

    @contextmanager
    def _reading(self) -> Iterator[psycopg.Connection]:
        """A connection of the read pool; whatever fails on the server's side is
        StoreUnavailable (a full disk, ENOSPC)."""
        conn = self._get(self._pool, time.monotonic() + self.connect_timeout)
        if conn is None:
            raise StoreUnavailable("the PostgreSQL store gave no connection in time")
        try:
            yield conn
        except psycopg.errors.DiskFull as error:
            raise OSError(errno.ENOSPC, f"the PostgreSQL store is full: {error}") from error
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            raise StoreUnavailable(f"the PostgreSQL store failed: {error}") from error
        finally:
            self._put(self._pool, conn)

    def _get(self, pool: ConnectionPool, deadline: float) -> psycopg.Connection | None:
        """A connection of ``pool`` by ``deadline``, else None (all of them in use). The
        server down is StoreUnavailable at once, not at the deadline. After an outage the
        pool waits longer and longer between its attempts to reconnect; while it has no
        connection to give and fewer than its size are out, a connection is made here."""
        self._create_schema()
        while True:
            try:
                conn = pool.getconn(timeout=max(0.05, min(deadline - time.monotonic(), self.PROBE_EVERY)))
            except PoolClosed as error:
                raise StoreUnavailable("the PostgreSQL store is closed") from error
            except PoolTimeout:
                conn = None
                with self._counting:
                    busy = self._out[pool.name] >= pool.max_size
                if not busy:  # the pool cannot connect
                    conn = self._direct()
                    if conn is None:
                        raise StoreUnavailable("the PostgreSQL store cannot be reached") from None
                    with self._counting:
                        self._direct_conns.add(conn)
                elif time.monotonic() >= deadline:
                    return None
            if conn is not None:
                with self._counting:
                    self._out[pool.name] += 1
                return conn

    def _put(self, pool: ConnectionPool, conn: psycopg.Connection) -> None:
        with self._counting:
            self._out[pool.name] -= 1
            direct = conn in self._direct_conns
            self._direct_conns.discard(conn)
        if direct:
            conn.close()
            return
        try:
            pool.putconn(conn)
        except PoolClosed:
            conn.close()

    @contextmanager
    def _writing(self, lease: object, sid: str) -> Iterator[tuple[PgLease, psycopg.Connection]]:
        """The lease's own connection, for a write in one transaction. A lease of another
        sid or another kind of backend is a caller's mistake (ValueError); a lease whose
        session is gone is refused (LeaseLost)."""
        if not isinstance(lease, PgLease) or lease.sid != sid:
            raise ValueError("a write is made under its own workspace's lease")
        session = lease.session
        with session.lock:
            if session.lost or session.done:
                self._lost(sid, session)
            try:
                with session.conn.transaction():
                    yield lease, session.conn
            except psycopg.errors.DiskFull as error:
                raise OSError(errno.ENOSPC, f"the PostgreSQL store is full: {error}") from error
            except (psycopg.OperationalError, psycopg.InterfaceError) as error:
                if not (session.conn.broken or session.conn.closed):
                    raise StoreUnavailable(f"the PostgreSQL store failed: {error}") from error
                session.lost = True
                self._lost(sid, session, error)

    def _lost(self, sid: str, session: _Session, error: Exception | None = None) -> None:
        """Refuse a write whose lease's session is gone. The store is down, or restarted
        since the lock was taken (another start time): StoreUnavailable, what the web layer
        answers 503. The same server ended the session (the bound, or killed): the lock was
        lost to others, LeaseLost."""
        conn = self._direct()
        if conn is None:
            raise StoreUnavailable("the PostgreSQL store cannot be reached; nothing was written") from error
        try:
            started = conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0]
        except psycopg.Error:
            started = None
        finally:
            conn.close()
        if started is None or started != session.server_started:
            raise StoreUnavailable("the PostgreSQL store restarted under this request; nothing was written") from error
        raise LeaseLost(f"the lock of workspace {short_sid(sid)} was lost with its session; "
                        "nothing was written") from error

    # -- the locker -------------------------------------------------------------------

    @asynccontextmanager
    async def hold(self, sid: str, timeout: float | None = None) -> AsyncIterator[PgLease]:
        validate_sid(sid)
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        # Requests of this process on one sid queue here, without a connection each.
        async with self._turns.turn((asyncio.get_running_loop(), sid), timeout):
            lease = await self._take(sid, deadline)
            try:
                yield lease
            finally:
                await self._in_thread(self._give_back, lease.session)

    async def _in_thread(self, function, *args):
        """Run a blocking call on the locker's threads; one already begun runs to its end."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(function, *args))

    async def _take(self, sid: str, deadline: float) -> PgLease:
        key = lock_key(sid)
        borrowing = self._borrowers.submit(self._borrow, deadline)
        try:
            session = await asyncio.wrap_future(borrowing)
        except asyncio.CancelledError:  # a borrow under way goes on: what it gets goes back
            borrowing.add_done_callback(self._give_back_borrowed)
            raise
        try:
            pause, first = self.POLL_FIRST, True
            while not await self._in_thread(self._try_lock, session, key, first):
                if time.monotonic() >= deadline:
                    raise LockTimeout()
                first = False
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.POLL_MAX)
            generation = await self._in_thread(self._generation, session, sid)
        except BaseException:
            self._executor.submit(self._give_back, session)
            raise
        self._pulse.add(session)
        return PgLease(sid, session, generation)

    def _borrow(self, deadline: float) -> _Session:
        """A connection of the lock pool, within the lock wait."""
        conn = self._get(self._locks, deadline)
        if conn is None:
            raise LockTimeout()  # every lock connection stayed in use
        return _Session(conn)

    def _give_back_borrowed(self, borrowing: Future) -> None:
        if not borrowing.cancelled() and borrowing.exception() is None:
            self._give_back(borrowing.result())

    def _try_lock(self, session: _Session, key: int, first: bool) -> bool:
        with session.lock:
            if session.done:
                return False
            try:
                if first:  # the bound applies from now until the lock is given back
                    bound = f"{int(self.bound * 1000)}ms"
                    *_, session.server_started, got = session.conn.execute(
                        "SELECT set_config('idle_session_timeout', %s, false), "
                        "set_config('idle_in_transaction_session_timeout', %s, false), "
                        "pg_postmaster_start_time(), pg_try_advisory_lock(%s)", (bound, bound, key)).fetchone()
                    return got
                return session.conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]
            except psycopg.Error as error:
                raise StoreUnavailable(f"the PostgreSQL store failed while waiting for a lock: {error}") from error

    def _generation(self, session: _Session, sid: str) -> int | None:
        with session.lock:
            try:
                row = session.conn.execute("SELECT generation FROM bolservice.workspaces WHERE sid = %s",
                                           (sid,)).fetchone()
            except psycopg.Error as error:
                raise StoreUnavailable(f"the PostgreSQL store failed: {error}") from error
        return None if row is None else row[0]

    def _give_back(self, session: _Session) -> None:
        """Release whatever the session holds and return it to its pool; a session that is
        gone is dropped (the server released its locks with it)."""
        self._pulse.discard(session)
        with session.lock:
            if session.done:
                return
            session.done = True
            try:
                session.conn.execute("SELECT pg_advisory_unlock_all(), set_config('idle_session_timeout', '0', false), "
                                     "set_config('idle_in_transaction_session_timeout', '0', false)")
            except psycopg.Error:
                pass
            self._put(self._locks, session.conn)

    def is_held(self, sid: str) -> bool:
        unsigned = lock_key(validate_sid(sid)) & 0xFFFF_FFFF_FFFF_FFFF
        with self._reading() as conn:
            return conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 1)",
                (unsigned >> 32, unsigned & 0xFFFF_FFFF)).fetchone()[0]

    def held(self, sids: list[str]) -> set[str]:
        """Which of ``sids`` some request holds now: ``is_held`` for a page of a listing in
        one query (the locks held at once are few; a page's ids are many)."""
        wanted = {lock_key(validate_sid(sid)) & 0xFFFF_FFFF_FFFF_FFFF: sid for sid in sids}
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT classid::bigint, objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND objsubid = 1").fetchall()
        return {wanted[key] for high, low in rows if (key := high << 32 | low) in wanted}

    def known(self) -> list[str]:
        return []  # nothing is kept per sid: an advisory lock exists only while held

    def retire(self, sid: str) -> None:
        pass

    @contextmanager
    def lead(self) -> Iterator[bool]:
        """Whether this process may do the janitor's round now: True for one process at a
        time among all that share the database, for the block (try-only, never waits). The
        leadership is bounded as a workspace lock is: a leader that stops loses it."""
        conn = self._get(self._locks, time.monotonic() + self.connect_timeout)
        if conn is None:  # every lock connection is in use: let another process lead this round
            yield False
            return
        session = _Session(conn)
        try:
            bound = f"{int(self.bound * 1000)}ms"
            leading = session.conn.execute(
                "SELECT set_config('idle_session_timeout', %s, false), pg_try_advisory_lock(%s, %s)",
                (bound, *_LEADER)).fetchone()[1]
        except psycopg.Error as error:
            self._give_back(session)
            raise StoreUnavailable(f"the PostgreSQL store failed: {error}") from error
        if leading:
            self._pulse.add(session)
        try:
            yield leading
        finally:
            self._give_back(session)

    # -- the store --------------------------------------------------------------------

    def manifest(self, sid: str) -> Manifest | None:
        data = self.manifest_bytes(sid)
        return None if data is None else listed(data)[0]

    def manifest_bytes(self, sid: str) -> bytes | None:
        row = self._one("SELECT manifest FROM bolservice.workspaces WHERE sid = %s", (validate_sid(sid),))
        return None if row is None else bytes(row[0])

    def exists(self, sid: str) -> bool:
        return self._one("SELECT 1 FROM bolservice.workspaces WHERE sid = %s", (validate_sid(sid),)) is not None

    def changed_at(self, sid: str) -> float | None:
        row = self._one("SELECT updated FROM bolservice.workspaces WHERE sid = %s", (validate_sid(sid),))
        return None if row is None else row[0]

    def _one(self, query: str, params: tuple) -> tuple | None:
        with self._reading() as conn:
            return conn.execute(query, params, binary=True).fetchone()

    def create(self, lease: PgLease) -> Manifest:
        now = time.time()
        manifest = Manifest(session_id=lease.sid, created=now, updated=now)
        with self._writing(lease, lease.sid) as (lease, conn):
            conn.execute("DELETE FROM bolservice.files WHERE sid = %s", (lease.sid,))
            generation = self._swap(lease, conn, manifest)
        lease.generation = generation
        return manifest

    def commit(self, lease: PgLease, manifest: Manifest, new_files: Mapping[str, Path | bytes]) -> Manifest:
        sid = manifest.session_id
        made = replace(manifest, files=dict(manifest.files), sizes=dict(manifest.sizes))
        with self._writing(lease, sid) as (lease, conn):
            for role, content in new_files.items():
                name = f"{role}-{secrets.token_hex(6)}"
                made.sizes[role] = _put_file(conn, sid, name, content)
                made.files[role] = name
            made.sizes = {role: size for role, size in made.sizes.items() if role in made.files}
            made.updated = time.time()
            generation = self._swap(lease, conn, made)
            conn.execute("DELETE FROM bolservice.files WHERE sid = %s AND NOT (name = ANY(%s))",
                         (sid, list(made.files.values())))
        lease.generation = generation
        manifest.files, manifest.sizes, manifest.updated = made.files, made.sizes, made.updated
        return manifest

    @staticmethod
    def _swap(lease: PgLease, conn: psycopg.Connection, manifest: Manifest) -> int:
        """Write the manifest row if it is still at the lease's generation; LeaseLost (the
        transaction rolled back) if anything else wrote it since the lock was taken."""
        values = {"sid": lease.sid, "updated": manifest.updated, "manifest": manifest.to_bytes(),
                  "seen": lease.generation}
        if lease.generation is None:
            row = conn.execute(
                "INSERT INTO bolservice.workspaces VALUES (%(sid)s, %(updated)s, "
                "nextval('bolservice.generations'), %(manifest)s) ON CONFLICT (sid) DO NOTHING "
                "RETURNING generation", values).fetchone()
        else:
            row = conn.execute(
                "UPDATE bolservice.workspaces SET updated = %(updated)s, manifest = %(manifest)s, "
                "generation = nextval('bolservice.generations') WHERE sid = %(sid)s AND generation = %(seen)s "
                "RETURNING generation", values).fetchone()
        if row is None:
            raise LeaseLost(f"workspace {short_sid(lease.sid)} changed since its lock was taken; nothing was written")
        return row[0]

    def delete(self, lease: PgLease) -> bool:
        with self._writing(lease, lease.sid) as (lease, conn):
            if lease.generation is None:
                if conn.execute("SELECT 1 FROM bolservice.workspaces WHERE sid = %s", (lease.sid,)).fetchone():
                    raise LeaseLost(f"workspace {short_sid(lease.sid)} changed since its lock was taken")
                return False
            if conn.execute("DELETE FROM bolservice.workspaces WHERE sid = %s AND generation = %s RETURNING 1",
                            (lease.sid, lease.generation)).fetchone() is None:
                raise LeaseLost(f"workspace {short_sid(lease.sid)} changed since its lock was taken")
            conn.execute("DELETE FROM bolservice.files WHERE sid = %s", (lease.sid,))
        lease.generation = None
        return True

    def tidy(self, lease: PgLease) -> None:
        """Nothing to do: a write is one transaction, which a crash rolls back whole."""

    def read(self, manifest: Manifest, role: str) -> bytes:
        name = manifest.files[role]
        with self._reading() as conn:
            chunks = conn.execute("SELECT data FROM bolservice.files WHERE sid = %s AND name = %s ORDER BY seq",
                                  (validate_sid(manifest.session_id), name), binary=True).fetchall()
        if not chunks:  # replaced by a later commit since the manifest was read
            raise FileNotFoundError(errno.ENOENT, f"workspace {short_sid(manifest.session_id)} no longer holds "
                                                  f"its {role}")
        return b"".join(chunk for chunk, in chunks)

    def scratch(self, suffix: str = "") -> AbstractContextManager[Path]:
        """A local temporary file, in this process's directory under the system's temporary
        directory; removed after the block."""
        return scratch_file(self._scratch_directory(), suffix)

    def _scratch_directory(self) -> Path:
        pid = os.getpid()
        if self._scratch is None or self._scratch[0] != pid:
            directory = _scratch_root() / process_tag(pid)
            directory.mkdir(parents=True, mode=0o700, exist_ok=True)
            self._scratch = (pid, directory)
        return self._scratch[1]

    def sweep(self) -> list[str]:
        """Remove the scratch directories of this host's processes that no longer run."""
        removed, root = [], _scratch_root()
        if not root.is_dir():
            return removed
        for entry in os.scandir(root):
            if left_by_stopped_process(entry.name):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.path)
        return removed

    def checks(self) -> dict[str, bool]:
        try:
            with self._pool.connection(timeout=2) as conn:
                conn.execute("SELECT 1")
            return {"store_reachable": True}
        except PoolTimeout:
            return {"store_reachable": self.reachable()}  # the pool may only be busy
        except (psycopg.Error, PoolClosed):
            return {"store_reachable": False}

    def figures(self) -> dict[str, float]:
        return {}  # the server's own disk is its operator's to watch

    # -- the listing ------------------------------------------------------------------

    def page(self, prefix: str = "", offset: int = 0, limit: int | None = None,
             after: str | None = None) -> list[tuple[str, str, bytes]]:
        low, comparison = (prefix, ">=") if after is None or after < prefix else (after, ">")
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT sid, generation, manifest FROM bolservice.workspaces WHERE sid {comparison} %s "
                "AND sid < %s ORDER BY sid LIMIT %s OFFSET %s",
                (low, prefix + _ABOVE_ANY_ID, limit, offset), binary=True).fetchall()
        return [(sid, str(generation), bytes(data)) for sid, generation, data in rows]

    def count(self, prefix: str = "") -> int:
        if not prefix:
            return self._one("SELECT value FROM bolservice.counts WHERE name = 'workspaces'", ())[0]
        row = self._one("SELECT count(*) FROM bolservice.workspaces WHERE sid >= %s AND sid < %s",
                        (prefix, prefix + _ABOVE_ANY_ID))
        return row[0]

    def idle_since(self, before: float) -> list[str]:
        with self._reading() as conn:
            return [sid for sid, in conn.execute(
                "SELECT sid FROM bolservice.workspaces WHERE updated < %s ORDER BY updated", (before,))]

    def reconcile(self) -> list[str]:
        return []  # the rows are the record: there is no derived listing to repair


def _put_file(conn: psycopg.Connection, sid: str, name: str, content: Path | bytes) -> int:
    """Write one file's chunks (an empty file is one empty chunk); its size."""
    size = 0
    with conn.cursor() as cursor:
        for seq, chunk in enumerate(_chunks(content)):
            cursor.execute("INSERT INTO bolservice.files VALUES (%s, %s, %s, %b)", (sid, name, seq, chunk))
            size += len(chunk)
    return size


def _chunks(content: Path | bytes) -> Iterator[bytes]:
    if isinstance(content, Path):
        with open(content, "rb") as handle:
            chunk = handle.read(CHUNK)
            yield chunk
            while chunk := handle.read(CHUNK):
                yield chunk
    else:
        view = memoryview(content)
        yield bytes(view[:CHUNK])
        for start in range(CHUNK, len(view), CHUNK):
            yield bytes(view[start:start + CHUNK])


def _scratch_root() -> Path:
    return Path(tempfile.gettempdir()) / f"bolservice-scratch-{os.getuid()}"
