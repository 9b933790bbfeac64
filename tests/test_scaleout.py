"""Two instances behind nginx routing on the workspace id (deploy/nginx.conf).

Run by `make test-scaleout`, which installs nginx if it is missing; not part of `make test`.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.server import Server, children, free_port
from tests.test_api import new_sid
from tests.test_integration import bol_and_sheet, merged_csv, workflow

pytestmark = pytest.mark.scaleout
CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf"


class Proxy:
    """A shipped nginx configuration (deploy/nginx.conf unless told), pointed at the test's
    instances and run in the foreground; ``reload`` points it at others while it runs."""

    def __init__(self, directory: Path, upstreams: list[Server], config: Path = CONFIG,
                 show_upstream: bool = False) -> None:
        assert shutil.which("nginx"), "nginx is not installed: run `make test-scaleout`, which installs it"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = config
        # An X-Upstream header naming the instance that answered, for the tests to read.
        self.show_upstream = show_upstream
        self.directory = directory
        (directory / "logs").mkdir(parents=True)
        self._write(upstreams)

    def _write(self, upstreams: list[Server]) -> None:
        text = self.config.read_text().replace("listen 127.0.0.1:8080", f"listen 127.0.0.1:{self.port}")
        # The shipped upstream lines (127.0.0.1:8001, :8002, ...) become one per instance,
        # each with the options of the first.
        shipped = re.findall(r"^( *)server 127\.0\.0\.1:80\d\d(.*)$", text, re.MULTILINE)
        assert shipped, f"no upstream server 127.0.0.1:80NN in {self.config}"
        indent, options = shipped[0]
        lines = "".join(f"{indent}server 127.0.0.1:{server.port}{options}\n" for server in upstreams)
        text = re.sub(r"(^ *server 127\.0\.0\.1:80\d\d.*\n)+", lambda _: lines, text, count=1, flags=re.MULTILINE)
        if self.show_upstream:
            text = text.replace("location / {",
                                "location / {\n            add_header X-Upstream $upstream_addr always;")
        (self.directory / "nginx.conf").write_text(text)

    def __enter__(self) -> Proxy:
        self.process = subprocess.Popen(
            ["nginx", "-c", str(self.directory / "nginx.conf"), "-p", str(self.directory),
             "-e", str(self.directory / "logs" / "error.log"),
             "-g", f"daemon off; pid {self.directory / 'nginx.pid'};"])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ping?_sid=probe", timeout=5).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError((self.directory / "logs" / "error.log").read_text())

    def reload(self, upstreams: list[Server], seconds: float = 120) -> None:
        """Point nginx at ``upstreams`` (SIGHUP) and return once its old workers are gone,
        so that no request is sent to an instance left out any longer."""
        old = set(children(self.process.pid))
        self._write(upstreams)
        self.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            now = set(children(self.process.pid))
            if now and not now & old:
                return
            time.sleep(0.05)
        raise RuntimeError(f"nginx kept its old workers: {(self.directory / 'logs' / 'error.log').read_text()}")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(20)

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 120), **kwargs)


@pytest.fixture
def cluster(tmp_path):
    with Server(tmp_path / "a" / "workspaces") as first, Server(tmp_path / "b" / "workspaces") as second, \
            Proxy(tmp_path / "nginx", [first, second]) as proxy:
        yield proxy, [first, second]


def homes(instances: list[Server], sid: str) -> list[int]:
    return [i for i, server in enumerate(instances) if (server.root / sid).is_dir()]


def test_concurrent_workflows_through_the_proxy_each_stay_on_one_instance(cluster):
    proxy, instances = cluster
    cases = [(new_sid(), *bol_and_sheet(300 + seed)) for seed in range(16)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda case: workflow(proxy, *case), cases))
    for (sid, pdf, sheet), got in zip(cases, results, strict=True):
        assert got == merged_csv(pdf, sheet)
        assert len(homes(instances, sid)) == 1, sid
    assert {homes(instances, sid)[0] for sid, _, _ in cases} == {0, 1}  # both instances serve


def test_the_session_id_alias_routes_like_sid_and_new_session_needs_an_id(cluster):
    proxy, instances = cluster
    with httpx.Client(base_url=proxy.url, timeout=60) as client:
        for _ in range(6):
            sid = new_sid()
            assert client.post("/new-session", params={"session_id": sid}).status_code == 200
            assert client.get("/status", params={"_sid": sid}).json()["exists"] is True
            assert len(homes(instances, sid)) == 1
        refused = client.post("/new-session")
        assert refused.status_code == 400 and "_sid" in refused.json()["error"]


def test_a_lost_instance_answers_json_503_for_its_workspaces_only(cluster):
    proxy, instances = cluster
    with httpx.Client(base_url=proxy.url, timeout=60) as client:
        placed = {}
        while len(placed) < 2:
            sid = new_sid()
            client.post("/new-session", params={"_sid": sid})
            placed.setdefault(homes(instances, sid)[0], sid)
        instances[1].__exit__(None, None, None)
        lost = client.get("/status", params={"_sid": placed[1]})
        assert lost.status_code == 503 and lost.headers["retry-after"] == "5"
        assert "cannot be reached" in lost.json()["error"]
        assert client.get("/status", params={"_sid": placed[0]}).json()["exists"] is True
        assert not (instances[0].root / placed[1]).exists()  # no copy started elsewhere
