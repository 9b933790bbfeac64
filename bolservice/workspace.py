"""A workspace as every layer sees it: its id's rule and its manifest.

Backends keep workspaces in their own way (backend.py); this is what they keep.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass, field

SID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")
MANIFEST = "manifest.json"


class InvalidSid(ValueError):
    pass


def validate_sid(sid: str) -> str:
    if not isinstance(sid, str) or not SID_PATTERN.fullmatch(sid):
        raise InvalidSid("the session id (_sid) must be 1 to 128 characters of A-Z, a-z, 0-9, '_' or '-'")
    return sid


def new_sid() -> str:
    """192 random bits, URL-safe: a sid is a bearer capability."""
    return secrets.token_urlsafe(24)


def short_sid(sid: str) -> str:
    """How a sid may appear in a log: its first 8 characters."""
    return sid[:8] + "…"


@dataclass
class Manifest:
    """What a workspace holds. ``files`` maps a role (pdf, extraction, ...) to a file name,
    ``sizes`` the role to that file's size: published files never change, so listing a
    workspace needs nothing but its manifest."""

    session_id: str
    created: float
    updated: float
    files: dict[str, str] = field(default_factory=dict)
    details: dict[str, dict] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), indent=1).encode()


def listed(data: bytes) -> tuple[Manifest, dict[str, int]]:
    """A manifest from its bytes, and the size of each file it lists and of itself."""
    manifest = Manifest(**json.loads(data))
    sizes = {name: manifest.sizes.get(role, 0) for role, name in manifest.files.items()}
    sizes[MANIFEST] = len(data)
    return manifest, sizes
