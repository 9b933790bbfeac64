from __future__ import annotations

import pytest

from tests.server import Server
from tests.test_api import carries_its_code


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    """One real server with 2 workers, shared by the tests that need default settings."""
    with Server(tmp_path_factory.mktemp("service") / "workspaces") as running:
        yield running


@pytest.fixture
def client(server):
    with server.client() as http:
        yield http


@pytest.fixture(autouse=True)
def every_error_carries_its_code(request):
    """Every answer a test's ``client`` gets goes through ``carries_its_code``: an error
    carries a code of the contract's table, with that code's status."""
    if "client" in request.fixturenames:
        request.getfixturevalue("client").event_hooks["response"].append(carries_its_code)
