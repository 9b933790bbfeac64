"""The locks (requirements/*.lock) agree with pyproject.toml: every declared dependency is
pinned, at a version its range allows, with hashes; each lock keeps the versions of the
one below it. `make lock` rewrites them; this fails CI when someone forgets to."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
# Each lock, and the extras of pyproject.toml it holds beside the dependencies.
LOCKS = {"run": (), "test": ("test",), "browser": ("test", "browser")}
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^ \\;]+)", re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    """Each package the lock installs, by its canonical name, and its version."""
    return {canonicalize_name(name): version
            for name, version in PIN.findall((REPO / "requirements" / f"{lock}.lock").read_text())}


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    found = [Requirement(text) for text in PROJECT["dependencies"]]
    for extra in extras:
        found += [Requirement(text) for text in PROJECT["optional-dependencies"][extra]]
    return [requirement for requirement in found if requirement.marker is None or requirement.marker.evaluate()]


@pytest.mark.parametrize("lock", LOCKS)
def test_every_declared_dependency_is_pinned_within_its_range(lock):
    pinned = pins(lock)
    for requirement in declared(LOCKS[lock]):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement} is in pyproject.toml but not in {lock}.lock: run `make lock`"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{lock}.lock pins {name}=={pinned[name]}, outside pyproject.toml's {requirement}: run `make lock`")


@pytest.mark.parametrize("lock", [*LOCKS, "tools"])
def test_every_pin_has_its_hashes(lock):
    entries = re.split(r"\n(?=[A-Za-z0-9])", (REPO / "requirements" / f"{lock}.lock").read_text())
    pinned = [entry for entry in entries if PIN.match(entry)]
    assert pinned, f"{lock}.lock pins nothing"
    for entry in pinned:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_each_lock_keeps_the_versions_of_the_one_below():
    """run ⊂ test ⊂ browser, at the same versions: `make test` tests what `make run` serves."""
    for lower, upper in (("run", "test"), ("test", "browser")):
        below, above = pins(lower), pins(upper)
        assert {name: above.get(name) for name in below} == below, f"{upper}.lock differs from {lower}.lock"
