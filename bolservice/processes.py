"""Scratch files, and which process left them: scratch directories are named by host and
pid, so a sweep can tell a stopped process's leftovers from a live one's work."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def process_tag(pid: int) -> str:
    """The name of a process's own scratch directory: its host and pid."""
    return f"{socket.gethostname()}-{pid}"


def left_by_stopped_process(tag: str) -> bool:
    """Whether the directory named ``tag`` belongs to a process of this host that is gone."""
    host, _, pid = tag.rpartition("-")
    return host == socket.gethostname() and pid.isdigit() and not alive(int(pid))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process, alive
        return True
    return True


@contextmanager
def scratch_file(directory: Path, suffix: str = "") -> Iterator[Path]:
    """A fresh empty file in ``directory``, removed after the block (if still there)."""
    fd, name = tempfile.mkstemp(dir=directory, suffix=suffix)
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
