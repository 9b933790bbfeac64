"""Instances sharing one PostgreSQL store, failing as real processes fail (shared/API.md,
"Several hosts").

Each test starts its own `bolservice serve` instances (2 workers each) on a fresh database
of a throwaway cluster (tests/pgcluster.py), and where it says so nginx in front of them
with deploy/nginx-shared.conf: round-robin, no hash on the workspace id. What a test kills,
pauses or restarts is known to be at work then: an upload whose workspace's lock is held,
as /debug-sessions on the other instance shows it. Every wait is a bounded poll.

Skipped, saying why, where PostgreSQL is not installed, and the tests behind nginx where
nginx is not; `make test-postgres` installs both and runs them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.bolpdf import padded_pdf
from tests.pgcluster import ENV, postgres_dsn, postgres_server  # noqa: F401  (fixtures)
from tests.server import Server
from tests.test_api import AUTH, MERGED, download, new_sid, upload, upload_sheet
from tests.test_integration import bol_and_sheet, merged_csv, pdf_csv
from tests.test_reliability import in_background, slow_pdf, thirteen_pages, wait_for
from tests.test_scaleout import Proxy

SHARED_CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "nginx-shared.conf"
BOUND = 2  # the lock's bound, in seconds, of the instances a test pauses


def long_upload(pages: int = 40, number: str = "L1") -> bytes:
    """A PDF whose parse holds its workspace's lock for seconds (pdfplumber reads it, as
    tests.server.Server has it), grown to 6 MB so that its deadline, which follows the
    size, is far past that even on a busy machine."""
    return padded_pdf(slow_pdf(pages, number), 6_000_000)


def start(stack: contextlib.ExitStack, directory: Path, dsn: str, names: tuple[str, ...],
          settings: dict) -> list[Server]:
    """Instances named ``names`` on the store ``dsn``, started at once, each stopped when
    ``stack`` closes: one a test killed or stopped already, and one that did not start in
    time, too."""
    servers = [Server(directory / name / "workspaces", workers=2, store=dsn, **settings) for name in names]
    with ThreadPoolExecutor(len(servers)) as pool:
        started = [pool.submit(server.__enter__) for server in servers]
    for server in servers:
        if server.process is not None:
            stack.push(server.__exit__)
    for future in started:
        future.result()
    return servers


@pytest.fixture
def instances(tmp_path, postgres_dsn):
    """``instances(*names, **settings)``: instances on one fresh database."""
    with contextlib.ExitStack() as stack:
        yield lambda *names, **settings: start(stack, tmp_path, postgres_dsn, names, settings)


def needs_nginx() -> None:
    if shutil.which("nginx") is None:
        reason = "nginx is not installed; `make test-postgres` installs it"
        if os.environ.get(ENV):
            pytest.fail(reason)
        pytest.skip(reason)


def locked(server: Server, sid: str) -> bool:
    """Whether a request holds ``sid``'s lock now, anywhere, as ``server`` sees it."""
    answer = httpx.get(f"{server.url}/debug-sessions", params={"_sid": sid}, headers=AUTH, timeout=30)
    assert answer.status_code == 200, answer.text
    current = answer.json()["current_session"]
    return bool(current and current["locked"])


def signal_all(server: Server, signum: int) -> None:
    """Send ``signum`` to every process of the instance: uvicorn, its workers, their pools."""
    os.killpg(server.process.pid, signum)


def staged_bytes(server: Server) -> int:
    """Bytes of request bodies the instance's workers have staged (postgres.py's scratch
    directories, one per process, under the system's temporary directory)."""
    root = Path(tempfile.gettempdir()) / f"bolservice-scratch-{os.getuid()}"
    total = 0
    for worker in server.workers():
        directory = root / f"{socket.gethostname()}-{worker}"
        with contextlib.suppress(FileNotFoundError):
            total += sum(entry.stat().st_size for entry in directory.iterdir())
    return total


def sent(server: Server, send, *args) -> httpx.Response:
    """``send(client, *args)`` on a client of its own to ``server``."""
    with server.client() as client:
        return send(client, *args)


def merged_workspace(server: Server) -> str:
    """A workspace holding the example PDF merged with its spreadsheet: the state a failed
    request must leave as it was."""
    sid = new_sid()
    with server.client() as client:
        assert upload(client, sid).status_code == 200
        assert upload_sheet(client, sid).status_code == 200
    return sid


def until_served(send, seconds: float = 15) -> tuple[httpx.Response, float]:
    """``send()`` again while the store is not usable yet (503 unhealthy), within
    ``seconds``; the answer and how long it took."""
    started = time.monotonic()
    while True:
        answer = send()
        if answer.status_code != 503 or time.monotonic() - started > seconds:
            return answer, time.monotonic() - started
        assert answer.json()["code"] == "unhealthy", answer.text
        time.sleep(0.1)


# --- round-robin ------------------------------------------------------------------------

def workflow_steps(client: httpx.Client, pdf: bytes, sheet: bytes) -> tuple[list[tuple[str, int, str]], dict, bytes]:
    """The workflow as a partner's app runs it, on an id the service makes, up to its first
    failed step: each step's (path, status, instance that answered), the uploads' answers
    (without the id), and the CSV."""
    steps: list[tuple[str, int, str]] = []
    answers: dict = {}

    def step(answer: httpx.Response, name: str | None = None) -> bool:
        steps.append((answer.request.url.path, answer.status_code, answer.headers.get("x-upstream", "")))
        if name is not None and answer.status_code == 200:
            answers[name] = {key: value for key, value in answer.json().items() if key != "session_id"}
        return answer.status_code == 200

    made = client.post("/new-session")
    if not step(made):
        return steps, answers, b""
    sid = made.json()["session_id"]
    if step(upload(client, sid, pdf), "pdf") and step(client.get("/status", params={"_sid": sid})) \
            and step(upload_sheet(client, sid, sheet), "sheet"):
        got = download(client, sid)
        if step(got):
            return steps, answers, got.content
    return steps, answers, b""


def test_round_robin_behind_nginx_gives_one_instance_s_answers_byte_for_byte(instances, tmp_path):
    """Twenty workflows from four clients, each client through an nginx of its own (the
    shipped round-robin configuration), so every step of every workflow lands on the other
    instance than the step before; the answers are one instance's, byte for byte."""
    needs_nginx()
    first, second = instances("a", "b")
    thirteen = thirteen_pages()
    pairs = [thirteen if n % 2 == 0 else bol_and_sheet(500 + n) for n in range(20)]
    with first.client() as alone:  # what one instance answers
        _, reference, reference_csv = workflow_steps(alone, *thirteen)
    assert reference_csv == merged_csv(*thirteen)
    with contextlib.ExitStack() as stack:
        proxies = [stack.enter_context(Proxy(tmp_path / f"nginx-{k}", [first, second], config=SHARED_CONFIG,
                                             show_upstream=True)) for k in range(4)]

        def client(k: int) -> list[tuple[int, list, dict, bytes]]:
            with proxies[k].client() as http:
                return [(n, *workflow_steps(http, *pairs[n])) for n in range(k, len(pairs), 4)]

        with ThreadPoolExecutor(4) as pool:
            runs = [run for runs in pool.map(client, range(4)) for run in runs]
    assert sorted(n for n, *_ in runs) == list(range(20))
    served = {first.port: 0, second.port: 0}
    for n, steps, answers, csv in runs:
        assert [status for _, status, _ in steps] == [200] * 5, (n, steps)
        upstreams = [upstream for _, _, upstream in steps]
        assert all(before != after for before, after in zip(upstreams, upstreams[1:])), (n, steps)
        for upstream in upstreams:
            served[int(upstream.rsplit(":", 1)[1])] += 1
        assert csv == merged_csv(*pairs[n]), n
        if pairs[n] is thirteen:
            assert answers == reference, n
    assert min(served.values()) >= 48, served  # each client's requests alternate: half on each


def test_an_instance_added_and_one_removed_during_a_hundred_workflows(instances, tmp_path):
    """A hundred workflows from four clients through nginx while a third instance starts
    and is added to nginx's list, then the first is taken out and stopped: no 404, no
    error at all, every CSV exact."""
    needs_nginx()
    first, second = instances("a", "b")
    pairs = [bol_and_sheet(700 + n) for n in range(10)]
    expected = [merged_csv(*pair) for pair in pairs]
    runs: list[tuple[int, float, list, bytes]] = []
    taken = iter(range(10**6))
    guard, changed = threading.Lock(), threading.Event()

    with Proxy(tmp_path / "nginx", [first, second], config=SHARED_CONFIG, show_upstream=True) as proxy:
        def client() -> None:
            with proxy.client() as http:
                while True:
                    with guard:
                        n = next(taken)
                    if n >= 100 and changed.is_set():
                        return
                    began = time.monotonic()
                    steps, _, csv = workflow_steps(http, *pairs[n % len(pairs)])
                    with guard:
                        runs.append((n, began, steps, csv))

        with ThreadPoolExecutor(4) as pool:
            clients = [pool.submit(client) for _ in range(4)]
            try:
                wait_for(lambda: len(runs) >= 10 or any(c.done() for c in clients), 120, "ten workflows")
                third, = instances("c")
                proxy.reload([first, second, third])
                wait_for(lambda: any(f":{third.port}" in upstream for _, _, steps, _ in list(runs)
                                     for _, _, upstream in steps) or any(c.done() for c in clients),
                         120, "the added instance to serve")
                proxy.reload([second, third])  # returns once no nginx worker can send to the first
                removed = time.monotonic()
                first.__exit__(None, None, None)
            finally:
                changed.set()
            for future in clients:
                future.result()

    assert len(runs) >= 100
    on = {first.port: [], second.port: [], third.port: []}
    for n, began, steps, csv in runs:
        assert [status for _, status, _ in steps] == [200] * 5, (n, steps)
        assert csv == expected[n % len(pairs)], n
        for _, _, upstream in steps:
            on[int(upstream.rsplit(":", 1)[1])].append(began)
    assert on[third.port], "the added instance served nothing"
    assert all(began < removed for began in on[first.port]), "nginx sent to the removed instance"
    assert any(began > removed for began in on[second.port] + on[third.port]), "nothing ran after the removal"


# --- kill -9, SIGSTOP, PostgreSQL restarted --------------------------------------------

@pytest.mark.parametrize("moment", ["body", "parse"])
def test_an_instance_killed_mid_upload_leaves_the_workspace_as_it_was_and_free(instances, moment):
    """``kill -9`` of all of an instance's processes while an upload's body is arriving, or
    while it is parsed under the workspace's lock: the other instance serves that workspace
    within seconds, as it was before the upload, and works on with it."""
    doomed, other = instances("a", "b")
    sid = merged_workspace(other)
    slow = slow_pdf(number="K9")
    release = threading.Event()
    if moment == "parse":
        thread, result = in_background(sent, doomed, upload, sid, slow)
        wait_for(lambda: locked(other, sid), 60, "the upload to hold the workspace's lock")
    else:
        def body():
            yield slow[:len(slow) // 2]
            release.wait(60)
            yield slow[len(slow) // 2:]

        thread, result = in_background(sent, doomed, lambda client: client.post(
            "/upload", params={"_sid": sid}, content=body(), headers={"Content-Type": "application/pdf"}))
        wait_for(lambda: staged_bytes(doomed) > 0, 60, "the instance to stage part of the body")
    signal_all(doomed, signal.SIGKILL)
    killed = time.monotonic()
    release.set()
    thread.join(60)
    assert "error" in result, result  # the connection died with the instance

    with other.client() as client:
        before = download(client, sid)
        waited = time.monotonic() - killed
        assert before.status_code == 200 and before.content == MERGED, (before.status_code, before.text[:300])
        assert waited < 5, f"the workspace was served {waited:.1f} s after the kill"
        newer, _ = bol_and_sheet(9)
        assert upload(client, sid, newer).status_code == 200
        assert download(client, sid).content == pdf_csv(newer)


def test_a_paused_holder_loses_the_lock_and_its_late_answer_overwrites_nothing(instances):
    """An instance stopped (SIGSTOP) while it parses under a workspace's lock loses the lock
    after the bound: the other instance's upload on that workspace goes through. Continued
    (SIGCONT), the stale holder cannot publish: its answer is no 200, the newer result stands."""
    paused, other = instances("a", "b", lock_bound=BOUND)
    sid = merged_workspace(other)
    newer, _ = bol_and_sheet(11)
    thread, result = in_background(sent, paused, upload, sid, long_upload(number="P1"))
    try:
        wait_for(lambda: locked(other, sid), 60, "the upload to hold the workspace's lock")
        signal_all(paused, signal.SIGSTOP)
        stopped = time.monotonic()
        with other.client() as client:
            taken = upload(client, sid, newer)
            waited = time.monotonic() - stopped
            assert taken.status_code == 200, taken.text[:300]
            # Held across instances while the holder was silent; free once past the bound.
            assert BOUND / 2 < waited < BOUND + 20, waited
            assert download(client, sid).content == pdf_csv(newer)
    finally:
        signal_all(paused, signal.SIGCONT)
    thread.join(120)
    assert "value" in result, result
    late = result["value"]
    assert late.status_code == 409 and late.json()["code"] == "workspace_busy", (late.status_code, late.text[:300])
    assert late.headers["retry-after"]
    for server in (other, paused):
        with server.client() as client:
            assert download(client, sid).content == pdf_csv(newer)


@pytest.fixture(scope="module")
def restarted(tmp_path_factory, postgres_server) -> dict:
    """PostgreSQL restarted while an upload is parsed under its workspace's lock, on one
    instance, while the other answers /status on that workspace over and over; then the
    workspace read and used again through the other. What each step got, for the tests
    below."""
    if postgres_server.cluster is None:
        pytest.skip(f"{ENV} names a server these tests did not start, so they do not restart it")
    seen: dict = {"slow": long_upload(number="R1")}
    with contextlib.ExitStack() as stack:
        busy, other = start(stack, tmp_path_factory.mktemp("restarted"), postgres_server.database(), ("a", "b"), {})
        sid = merged_workspace(other)
        thread, result = in_background(sent, busy, upload, sid, seen["slow"])
        meanwhile: list[httpx.Response | Exception] = []
        watching = threading.Event()

        def bystander() -> None:
            with other.client() as client:
                while not watching.is_set():
                    try:
                        meanwhile.append(client.get("/status", params={"_sid": sid}))
                    except httpx.HTTPError as error:
                        meanwhile.append(error)
                        return

        wait_for(lambda: locked(other, sid), 60, "the upload to hold the workspace's lock")
        watcher = threading.Thread(target=bystander)
        watcher.start()
        try:
            postgres_server.cluster.restart()
            thread.join(150)
        finally:
            watching.set()
            watcher.join(60)
        seen["upload"], seen["meanwhile"] = result.get("value", result), meanwhile
        with other.client() as client:
            seen["after"], _ = until_served(lambda: download(client, sid))
            newer, _ = bol_and_sheet(13)
            seen["newer"], seen["newer_csv"] = newer, pdf_csv(newer)
            seen["again"], seen["took"] = until_served(lambda: upload(client, sid, newer))
            seen["last"] = download(client, sid)
    return seen


def test_postgresql_restarted_mid_request_changes_nothing_and_frees_the_lock(restarted):
    """The restart costs the upload under way its answer, not the workspace: no 500 to it or
    to anyone meanwhile (200 or JSON 503 `unhealthy`), the workspace as it was (or as the
    upload left it, had it been answered 200), and its lock free within seconds."""
    answer = restarted["upload"]
    assert isinstance(answer, httpx.Response), answer
    assert answer.status_code < 500 or answer.status_code == 503, (answer.status_code, answer.text[:300])
    assert answer.status_code == 200 or answer.json()["code"], answer.text[:300]  # a JSON error
    assert all(isinstance(reply, httpx.Response) for reply in restarted["meanwhile"]), restarted["meanwhile"][-1]
    assert {reply.status_code for reply in restarted["meanwhile"]} <= {200, 503}
    assert all(reply.json()["code"] == "unhealthy" for reply in restarted["meanwhile"] if reply.status_code == 503)
    assert restarted["after"].status_code == 200, restarted["after"].text[:300]
    assert restarted["after"].content == (pdf_csv(restarted["slow"]) if answer.status_code == 200 else MERGED)
    assert restarted["again"].status_code == 200, restarted["again"].text[:300]
    assert restarted["took"] < 10, f"the workspace's lock was free {restarted['took']:.1f} s after the restart"
    assert restarted["last"].content == restarted["newer_csv"]


def test_postgresql_restarted_mid_request_answers_503_unhealthy(restarted):
    answer = restarted["upload"]
    assert answer.status_code in (200, 503), (answer.status_code, answer.text[:300])
    if answer.status_code == 503:
        assert answer.json()["code"] == "unhealthy"


# --- the janitors ----------------------------------------------------------------------

def test_two_instances_janitors_sweep_one_at_a_time_and_never_under_a_held_lock(instances, postgres_dsn):
    """Four janitors (two instances of two workers each) on one store: while they delete a
    hundred expired workspaces, no two hold a workspace's lock at once (one leads at a
    time); a workspace expired while an upload holds its lock is left alone, and the upload
    publishes. The workspaces are made to expire by setting back when they last changed,
    in the store's table, the one a janitor was the first to look at."""
    import psycopg

    from bolservice.postgres import lock_key

    first, second = instances("a", "b", workspace_ttl=600, janitor_interval=0.25)
    expired = [f"gone-{n:03d}" for n in range(100)]
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda n: sent((first, second)[n % 2], lambda client: client.post(
            "/new-session", params={"_sid": expired[n]})), range(len(expired))))
    assert [answer.status_code for answer in made] == [200] * len(expired)
    kept, pdf = new_sid(), long_upload(number="J1")
    with first.client() as client:
        assert client.post("/new-session", params={"_sid": kept}).status_code == 200
    thread, result = in_background(sent, second, upload, kept, pdf)
    wait_for(lambda: locked(first, kept), 60, "the upload to hold the workspace's lock")

    mine = lock_key(kept) & 0xFFFF_FFFF_FFFF_FFFF
    most = {"workspace": 0, "leader": 0}
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        def left() -> int:
            rows = conn.execute("SELECT classid::bigint, objid::bigint, objsubid FROM pg_locks "
                                "WHERE locktype = 'advisory' AND granted").fetchall()
            keys = [(high << 32 | low, sub) for high, low, sub in rows]
            most["workspace"] = max(most["workspace"], sum(sub == 1 and key != mine for key, sub in keys))
            most["leader"] = max(most["leader"], keys.count((0x626F6C73 << 32 | 1, 2)))  # postgres.py's _LEADER
            return conn.execute("SELECT count(*) FROM bolservice.workspaces WHERE sid LIKE 'gone-%'").fetchone()[0]

        with conn.transaction():  # an hour idle, and `kept` two: the first of a round's list
            conn.execute("UPDATE bolservice.workspaces SET updated = updated - 3600 WHERE sid LIKE 'gone-%'")
            conn.execute("UPDATE bolservice.workspaces SET updated = updated - 7200 WHERE sid = %s", (kept,))
        wait_for(lambda: left() < len(expired), 60, "a janitor to delete an expired workspace")
        # That round looked at `kept` first: its lock was held, and it still is.
        assert thread.is_alive() and locked(first, kept), ("the upload ended before a janitor's round", result)
        wait_for(lambda: left() == 0, 60, "the janitors to delete every expired workspace")
    thread.join(120)
    assert result["value"].status_code == 200, result["value"].text[:300]
    with first.client() as client:
        assert download(client, kept).content == pdf_csv(pdf)
    assert most == {"workspace": 1, "leader": 1}, most
    logs = first.log.read_text() + second.log.read_text()
    assert logs.count("deleted a workspace idle") == len(expired), logs[-3000:]
