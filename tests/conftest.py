from __future__ import annotations

import pytest

from tests.pgcluster import postgres_server  # noqa: F401  (a fixture, for --shared-store)
from tests.server import Server, SharedServers
from tests.test_api import carries_its_code


def pytest_addoption(parser) -> None:
    parser.addoption("--shared-store", action="store_true",
                     help="serve the session's server from two instances on a throwaway PostgreSQL "
                          "store, every request to the next instance (make test-postgres)")


def pytest_collection_modifyitems(config, items) -> None:
    if config.getoption("--shared-store"):
        skip = pytest.mark.skip(reason="inspects the directory backend's files; not a shared store's")
        for item in items:
            if "disk" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def server(request, tmp_path_factory) -> Server:
    """One real server with 2 workers, shared by the tests that need default settings; with
    --shared-store, two instances on one PostgreSQL store taking the requests in turn."""
    root = tmp_path_factory.mktemp("service") / "workspaces"
    if request.config.getoption("--shared-store"):
        dsn = request.getfixturevalue("postgres_server").database()
        with SharedServers(root, dsn) as running:
            yield running
        return
    with Server(root) as running:
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
