from __future__ import annotations

import pytest

from tests.server import Server


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    """One real server with 2 workers, shared by the tests that need default settings."""
    with Server(tmp_path_factory.mktemp("service") / "workspaces") as running:
        yield running


@pytest.fixture
def client(server):
    with server.client() as http:
        yield http
