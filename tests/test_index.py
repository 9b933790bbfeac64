"""The store's index of workspaces agrees with the directories, and the listing pages it.

The listing (``/debug-sessions``) reads only the index; these tests compare what it lists
with what the root holds on disk, after concurrent requests from two workers, after
changes made behind the store's back, and after a start on a root without an index.
"""

from __future__ import annotations

import json
import secrets
import shutil
import string
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bolservice.index import INDEX
from bolservice.locks import FileLease
from bolservice.store import WorkspaceStore
from bolservice.workspace import MANIFEST, SID_PATTERN
from tests.server import Server
from tests.test_api import AUTH, assert_error, upload

ALPHABET = string.ascii_letters + string.digits + "_-"


def on_disk(root: Path) -> dict[str, float]:
    """The workspaces the root holds: id → the manifest's ``updated``."""
    found = {}
    for directory in root.iterdir():
        if SID_PATTERN.fullmatch(directory.name) and (directory / MANIFEST).exists():
            found[directory.name] = json.loads((directory / MANIFEST).read_bytes())["updated"]
    return found


def listed(client: httpx.Client, **params) -> dict:
    answer = client.get("/debug-sessions", params=params, headers=AUTH)
    assert answer.status_code == 200, answer.text
    return answer.json()


def assert_agrees(client: httpx.Client, root: Path) -> None:
    everything = listed(client)
    disk = on_disk(root)
    ids = [session["session_id"] for session in everything["all_sessions"]]
    assert ids == sorted(disk) and everything["total_sessions"] == len(disk)
    for session in everything["all_sessions"]:  # the same manifest, not an older one
        assert session["updated_at"] == listed(client, _sid=session["session_id"], limit=0)[
            "current_session"]["updated_at"]


def test_index_agrees_after_concurrent_requests_from_two_workers(tmp_path):
    sids = [f"w{k:02d}-{secrets.token_hex(4)}" for k in range(24)]

    def churn(sid: str) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for step in range(4):
                client.post("/new-session", params={"_sid": sid})
                if step % 2:
                    assert upload(client, sid).status_code == 200
                if step == 3 and sid.endswith(("0", "5", "a")):
                    client.post("/clear-session", params={"_sid": sid})

    with Server(tmp_path / "root", workers=2, pdf_engine="pdfium") as server:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(churn, sids))
        with server.client() as client:
            assert_agrees(client, server.root)
            assert listed(client)["total_sessions"] >= 1


def test_index_is_repaired_after_changes_behind_its_back_and_built_on_a_start_without_one(tmp_path):
    root = tmp_path / "root"
    with Server(root, workers=2) as server, server.client() as client:
        for sid in ("kept", "copied", "removed"):
            assert upload(client, sid).status_code == 200
    shutil.copytree(root / "copied", root / "made-behind")
    manifest = json.loads((root / "made-behind" / MANIFEST).read_bytes())
    manifest["session_id"] = "made-behind"
    (root / "made-behind" / MANIFEST).write_text(json.dumps(manifest))
    shutil.rmtree(root / "removed")
    with Server(root, workers=2) as server, server.client() as client:  # a start repairs it
        assert_agrees(client, root)
    shutil.rmtree(root / INDEX)  # a root from before the index, or an index lost
    with Server(root, workers=2) as server, server.client() as client:
        assert_agrees(client, root)
        assert [s["session_id"] for s in listed(client)["all_sessions"]] == ["copied", "kept", "made-behind"]


def test_a_janitor_round_repairs_the_index_while_serving(tmp_path):
    store = WorkspaceStore(tmp_path)
    for sid in ("a", "b", "c"):
        store.create(FileLease(sid))
    shutil.rmtree(tmp_path / "b")
    shutil.copytree(tmp_path / "c", tmp_path / "d")
    (tmp_path / "c" / MANIFEST).write_text(json.dumps({**json.loads((tmp_path / "c" / MANIFEST).read_bytes()),
                                                      "updated": 1.0}))
    assert [sid for sid, _, _ in store.page()] == ["a", "b", "c"]
    assert store.reconcile() == []
    assert [sid for sid, _, _ in store.page()] == ["a", "c", "d"] and store.count() == 3
    assert store.idle_since(2.0) == ["c"]  # the manifest changed behind its back is read again


def test_pages_and_prefixes_give_exactly_the_ids_on_disk_once_each(client, server):
    # "ix" and a random tail: the server is shared, and another test's random id may start "ix".
    ix = "ix" + secrets.token_hex(4)
    ours = sorted({ix + "".join(secrets.choice(ALPHABET) for _ in range(6)) for _ in range(60)}
                  | {ix + "AB" + str(k) for k in range(7)})
    for sid in ours:
        assert client.post("/new-session", params={"_sid": sid}).status_code == 200
    pages, offset = [], 0
    while True:
        page = listed(client, prefix=ix, limit=9, offset=offset)
        assert page["total_sessions"] == len(ours) and page["prefix"] == ix
        if not page["all_sessions"]:
            break
        pages.append([s["session_id"] for s in page["all_sessions"]])
        offset += 9
    assert [sid for page in pages for sid in page] == ours  # in order, none twice, none missed
    assert all(len(page) == 9 for page in pages[:-1])
    narrow = listed(client, prefix=ix + "AB")
    assert [s["session_id"] for s in narrow["all_sessions"]] == [sid for sid in ours if sid.startswith(ix + "AB")]
    assert listed(client, prefix=ix + "AB", limit=2, offset=6)["all_sessions"][0]["session_id"] == ix + "AB6"
    assert listed(client, prefix="nothing-starts-so")["all_sessions"] == []
    whole = {s["session_id"] for s in listed(client)["all_sessions"]}
    assert set(ours) <= whole
    assert upload(client, ix + "AB3").status_code == 200  # a listed entry changes: the next listing says so
    assert listed(client, prefix=ix + "AB3")["all_sessions"][0]["stage"] == "pdf"
    for bad in ({"prefix": "../x"}, {"prefix": "a b"}, {"prefix": "x" * 129}):
        assert_error(client.get("/debug-sessions", params=bad, headers=AUTH), 400, "prefix")


@pytest.mark.parametrize("limit", [None, 1200])
def test_a_long_listing_streams_as_one_json_document(tmp_path, limit):
    store = WorkspaceStore(tmp_path / "root")
    for k in range(1300):
        store.create(FileLease(f"s{k:05d}"))
    with Server(tmp_path / "root", workers=1) as server, server.client() as client:
        params = {} if limit is None else {"limit": limit}
        with client.stream("GET", "/debug-sessions", params=params, headers=AUTH) as answer:
            assert answer.headers.get("transfer-encoding") == "chunked"
            body = json.loads(answer.read())
    ids = [s["session_id"] for s in body["all_sessions"]]
    assert body["total_sessions"] == 1300 and ids == [f"s{k:05d}" for k in range(limit or 1300)]
