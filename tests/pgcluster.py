"""A throwaway PostgreSQL cluster of the tests' own, and the fixtures that hand it out.

The cluster lives in a fresh temporary directory (its data, its unix socket) and listens
on a free TCP port of 127.0.0.1; it is stopped and the directory removed when the test
session ends. PostgreSQL's own binaries are used (Debian's, under
/usr/lib/postgresql/<version>/bin, the newest installed; else those ``pg_config`` names;
else ``initdb`` on the PATH). ``initdb`` refuses to run as root, so as root the cluster
runs as the ``postgres`` user that Debian's package creates.

Without PostgreSQL the tests that need it are skipped, saying why, unless
``BOLSERVICE_TEST_POSTGRES`` is set: ``make test-postgres`` sets it to ``required``,
where a cluster that cannot start is a failure; set to a ``postgresql://`` address, the
tests use that server instead of starting one (and skip the ones that restart it).

``python -m tests.pgcluster hold DSN|ROOT SID BOUND`` is the other process the fencing
tests pause or kill: it holds a workspace's lock and commits when told (see ``holder``).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from bolservice.processes import alive

ENV = "BOLSERVICE_TEST_POSTGRES"
PREFIX = "bolservice-pg-"
INSTALL_HINT = "`make test-postgres` installs Debian's postgresql and runs them"


def binaries() -> Path | None:
    """The directory of PostgreSQL's server binaries, or None if it is not installed."""
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                    key=lambda path: [int(part) for part in re.findall(r"\d+", path)])
    if debian:
        return Path(debian[-1]).parent
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        found = Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                    check=True).stdout.strip())
        if (found / "initdb").exists():
            return found
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """One PostgreSQL cluster in its own directory; a context manager that removes it."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
        self.directory = Path(tempfile.mkdtemp(prefix=PREFIX))
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self.port = _free_port()
        self.dsn = f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"
        # Which test process made it: a later run removes it if that process is gone.
        (self.directory / "owner").write_text(str(os.getpid()))
        if os.geteuid() == 0:
            shutil.chown(self.directory, self.user)

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = [str(self.bindir / command[0]), *command[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", self.user, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, cwd=self.directory)
        if check and done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command[:2])} failed:\n{done.stdout}{done.stderr}{log}")
        return done

    def start(self) -> Cluster:
        self._run("initdb", "--auth=trust", f"--username={self.user}", "--encoding=UTF8",
                  "--no-instructions", "-D", str(self.data))
        # Durability is not what these tests test: a throwaway cluster skips the fsyncs.
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.directory}'\nmax_connections = 200\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        self._pg_ctl("start")
        return self

    def _pg_ctl(self, action: str) -> None:
        self._run("pg_ctl", action, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-m", "fast")

    def restart(self) -> None:
        self._pg_ctl("restart")

    def stop(self) -> None:
        self._pg_ctl("stop")

    def start_again(self) -> None:
        self._pg_ctl("start")

    def database(self) -> str:
        """A new, empty database of the cluster, and its address."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.dsn, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.dsn.rsplit("/", 1)[0] + "/" + name

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.remove()
            raise

    def __exit__(self, *exc: object) -> None:
        self.remove()


def remove_abandoned() -> None:
    """Clusters left by test runs that were killed: their server stopped, their directory gone."""
    for directory in glob.glob(os.path.join(tempfile.gettempdir(), PREFIX + "*")):
        try:
            owner = int(Path(directory, "owner").read_text())
        except (OSError, ValueError):
            continue
        if alive(owner):
            continue
        pidfile = Path(directory, "data", "postmaster.pid")
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pidfile.read_text().split()[0]), signal.SIGQUIT)  # an immediate stop
        shutil.rmtree(directory, ignore_errors=True)


class Server:
    """What the fixtures hand out: the server's address, and its cluster when it is ours."""

    def __init__(self, dsn: str, cluster: Cluster | None) -> None:
        self.dsn = dsn
        self.cluster = cluster

    def database(self) -> str:
        if self.cluster is not None:
            return self.cluster.database()
        return self.dsn


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server for the session: ours, started here, or BOLSERVICE_TEST_POSTGRES's."""
    wanted = os.environ.get(ENV, "")
    if wanted.startswith(("postgresql://", "postgres://")):
        yield Server(wanted, None)
        return
    bindir = binaries()
    if bindir is None:
        if wanted:
            pytest.fail(f"{ENV}={wanted} but PostgreSQL is not installed")
        pytest.skip(f"PostgreSQL is not installed; {INSTALL_HINT}")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed in this environment")
    remove_abandoned()
    cluster = Cluster(bindir)
    try:
        cluster.__enter__()
    except RuntimeError as error:
        if wanted:
            raise
        pytest.skip(f"PostgreSQL is installed ({bindir}) but a cluster did not start: {error}")
    try:
        yield Server(cluster.dsn, cluster)
    finally:
        cluster.__exit__(None, None, None)


@pytest.fixture
def postgres_dsn(postgres_server) -> str:
    """The address of a fresh, empty database: each test gets its own."""
    return postgres_server.database()


@pytest.fixture
def postgres_cluster(postgres_server) -> Cluster:
    """The cluster itself, for the tests that stop or restart it; skipped on a server of
    BOLSERVICE_TEST_POSTGRES's, which is not ours to restart."""
    if postgres_server.cluster is None:
        pytest.skip(f"{ENV} names a server these tests did not start, so they do not restart it")
    return postgres_server.cluster


def holder(store: str, sid: str, bound: float) -> None:
    """Hold ``sid``'s lock in this process, for the tests that pause or kill its holder.

    ``store`` is a ``postgresql://`` address, or the root of a disk store. Prints ``held``
    once it holds the lock, then waits for a line on stdin and commits a file ``note``
    holding that line under the lease; prints ``committed``, or ``lost`` and the error's
    class if the commit was refused.
    """
    from bolservice.backend import LeaseLost, StoreUnavailable
    from bolservice.composer import compose
    from bolservice.config import Settings

    if store.startswith(("postgresql://", "postgres://")):
        backend = compose(Settings(store=store, lock_bound=bound))
    else:
        backend = compose(Settings(root=Path(store)))

    async def run() -> None:
        async with backend.locker.hold(sid, timeout=10) as lease:
            manifest = await asyncio.to_thread(backend.store.manifest, sid)
            if manifest is None:
                manifest = await asyncio.to_thread(backend.store.create, lease)
            print("held", flush=True)
            line = await asyncio.to_thread(sys.stdin.readline)
            try:
                await asyncio.to_thread(backend.store.commit, lease, manifest, {"note": line.strip().encode()})
            except (LeaseLost, StoreUnavailable) as error:
                print("lost", type(error).__name__, flush=True)
            else:
                print("committed", flush=True)

    try:
        asyncio.run(run())
    finally:
        if hasattr(backend, "close"):
            backend.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["hold"] and len(sys.argv) == 5:
        holder(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit("usage: python -m tests.pgcluster hold DSN|ROOT SID BOUND")
