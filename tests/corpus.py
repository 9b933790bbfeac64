"""The committed corpus of BOL PDFs printed by real PDF producers (see tests/corpus/README.md).

Each ``<name>.pdf`` has its expected ``<name>.csv`` (what /download-bol serves without a
spreadsheet), computed from the model that printed it; ``python -m tests.corpus_build``
(``make corpus``) rebuilds both. Names read ``<producer>-<font>-<size>pt[-variant]``.
"""

from __future__ import annotations

from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"


def corpus_cases() -> list[tuple[str, Path, Path]]:
    """(name, pdf path, expected csv path) of every corpus PDF, sorted by name."""
    return [(pdf.stem, pdf, pdf.with_suffix(".csv"))
            for pdf in sorted(CORPUS_DIR.glob("*.pdf")) if pdf.with_suffix(".csv").exists()]


def producer_of(name: str) -> str:
    """The producer part of a corpus name: ``chromium-liberation-sans-9pt`` → ``chromium``."""
    return name.split("-", 1)[0]
