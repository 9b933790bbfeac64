"""The ``bolservice`` command line."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .bol import (
    ENGINES,
    BolInputError,
    extract_pdf,
    extraction_records,
    merge,
    read_spreadsheet,
    write_bol_csv,
)
from .bol.spreadsheet import Spreadsheet
from .bol.workbook import bol_workbook
from .config import MULTIPROCESS_DIR, PREFIX, Settings
from .store import publish_bytes

FORMATS = ("csv", "xlsx")
UNUSABLE = 1  # an input could not be used; the reason is on stderr
USAGE = 2  # the command line itself is wrong, as argparse reports it


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bolservice", description=__doc__)
    parser.add_argument("--version", action="version", version=f"bolservice {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    process = commands.add_parser(
        "process", help="turn BOL PDFs (and a spreadsheet) into BOL CSVs",
        description="Write the 28-column BOL CSV of each PDF, merged with --csv if given. "
                    "The report goes to stderr.",
    )
    process.add_argument("pdfs", nargs="+", type=Path, metavar="PDF")
    process.add_argument("--csv", type=Path, metavar="SPREADSHEET",
                         help="the incoming spreadsheet (.csv, .xlsx, .xls) to merge")
    target = process.add_mutually_exclusive_group()
    target.add_argument("-o", "--output", type=Path, metavar="OUT.csv",
                        help="write the CSV here instead of stdout (one PDF only); "
                             "a name ending in .xlsx gets the Excel workbook")
    target.add_argument("--out-dir", type=Path, metavar="DIR",
                        help="write <pdf name>.csv (or .xlsx) for each PDF into DIR")
    process.add_argument("--format", choices=FORMATS, default=None,
                         help="csv or xlsx, an Excel workbook with typed cells (default: the "
                              "output's extension, else csv)")
    process.add_argument("--max-pages", type=int, default=None,
                         help="refuse PDFs with more pages than this")
    process.add_argument("--engine", choices=ENGINES, default=os.environ.get(PREFIX + "PDF_ENGINE") or "auto",
                         help="text engine: auto (pdfium, pdfplumber where a page raises a warning), "
                              "pdfium or pdfplumber (default: BOLSERVICE_PDF_ENGINE or auto)")
    process.set_defaults(run=_process_command)

    serve = commands.add_parser(
        "serve", help="serve the HTTP API",
        description="Serve the HTTP API. Options override the BOLSERVICE_* variables of the same name.",
    )
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (default 1)")
    serve.add_argument("--root", type=Path, help="workspace root (default ./workspaces)")
    serve.set_defaults(run=_serve_command)
    return parser


def _serve_command(args: argparse.Namespace) -> int:
    import logging.config

    from .logs import logging_config
    from .web.serve import serve

    for name in ("host", "port", "workers", "root"):
        if getattr(args, name) is not None:
            os.environ[PREFIX + name.upper()] = str(getattr(args, name))
    settings = Settings.from_env()
    log_config = logging_config(settings.log_format)
    logging.config.dictConfig(log_config)
    log = logging.getLogger("bolservice")
    if not os.environ.get(PREFIX + "DEBUG_TOKEN"):
        # Set before the workers start, so they all accept the same token.
        os.environ[PREFIX + "DEBUG_TOKEN"] = secrets.token_urlsafe(24)
        log.info("/debug-sessions token (set BOLSERVICE_DEBUG_TOKEN to choose one): %s",
                 os.environ[PREFIX + "DEBUG_TOKEN"])
    settings = Settings.from_env()  # again: the token is now set
    settings.root.mkdir(parents=True, exist_ok=True)
    made = _prepare_metrics_directory()
    try:
        serve(settings, log_config)
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
    return 0


def _prepare_metrics_directory() -> Path | None:
    """Every worker writes its metrics under PROMETHEUS_MULTIPROC_DIR; start it empty.

    A fresh directory per server by default (returned, for the server to remove when it
    stops): one under a shared root would mix the process ids of several containers. This
    must run before prometheus_client is first imported in this process, which is where a
    single worker serves.
    """
    import tempfile

    directory = os.environ.get(MULTIPROCESS_DIR)
    if directory:
        for stale in Path(directory).glob("*.db"):
            stale.unlink()
        return None
    os.environ[MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix="bolservice-metrics-")
    return Path(os.environ[MULTIPROCESS_DIR])


def _process_command(args: argparse.Namespace) -> int:
    if len(args.pdfs) > 1 and args.out_dir is None:
        return _fail("several PDFs need --out-dir DIR (one CSV is written per PDF)", USAGE)
    if args.format is None:
        args.format = "xlsx" if args.output is not None and args.output.suffix.lower() == ".xlsx" else "csv"
    if args.format == "xlsx" and args.output is None and args.out_dir is None:
        return _fail("a workbook is a file: give -o OUT.xlsx or --out-dir DIR", USAGE)
    try:
        sheet = read_spreadsheet(args.csv.read_bytes()) if args.csv else None
    except (OSError, BolInputError) as error:
        return _fail(f"{args.csv}: {_reason(error)}")
    if args.out_dir is None:
        return _process_one(args.pdfs[0], sheet, args.output, args.max_pages, args.engine, args.format)
    return _process_batch(args.pdfs, sheet, args.out_dir, args.max_pages, args.engine, args.format)


def _process_one(pdf: Path, sheet: Spreadsheet | None, output: Path | None,
                 max_pages: int | None, engine: str, form: str) -> int:
    try:
        result = process_pdf(pdf, sheet, max_pages, engine)
        if output is not None:
            write_atomically(output, result.content(form))
    except (OSError, BolInputError) as error:
        return _fail(f"{pdf}: {_reason(error)}")
    print("\n".join(result.report), file=sys.stderr)
    if output is None:
        sys.stdout.write(result.csv)
    return 0


def _process_batch(pdfs: list[Path], sheet: Spreadsheet | None, out_dir: Path,
                   max_pages: int | None, engine: str, form: str) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    progress = Progress(len(pdfs)) if sys.stderr.isatty() else None
    failed, warned = [], 0
    for done, pdf in enumerate(pdfs):
        if progress:
            progress.show(done, pdf.name)
        try:
            result = process_pdf(pdf, sheet, max_pages, engine)
            write_atomically(out_dir / f"{pdf.stem}.{form}", result.content(form))
        except (OSError, BolInputError) as error:
            failed.append(f"{pdf}: {_reason(error)}")
            continue
        warned += result.warnings
    if progress:
        progress.show(len(pdfs), "")
        progress.close()
    for reason in failed:
        print(f"error: {reason}", file=sys.stderr)
    print(f"{len(pdfs)} PDF(s): {len(pdfs) - len(failed)} written to {out_dir}, "
          f"{len(failed)} failed, {warned} warning(s)", file=sys.stderr)
    return UNUSABLE if failed else 0


@dataclass
class Processed:
    csv: str
    report: list[str]  # summary lines, then one line per warning
    warnings: int

    def content(self, form: str) -> bytes:
        """The output file's bytes: the CSV, or its workbook."""
        return bol_workbook(self.csv) if form == "xlsx" else self.csv.encode()


def process_pdf(pdf: Path, sheet: Spreadsheet | None, max_pages: int | None, engine: str = "auto") -> Processed:
    """The BOL CSV of one PDF and the report that describes it."""
    extraction = extract_pdf(pdf, max_pages=max_pages, engine=engine)
    lines = [f"{pdf}: {extraction.pages} page(s), {len(extraction.invoices)} invoice(s), "
             f"{len(extraction.rows)} row(s)"]
    warnings = list(extraction.warnings)
    if sheet is None:
        records = extraction_records(extraction)
    else:
        merged = merge(extraction, sheet)
        records, warnings = merged.records, warnings + merged.warnings
        lines.append(f"merged: {merged.rows_in_file} spreadsheet row(s), "
                     f"{merged.rows_matched} matched, {merged.pdf_rows_unmatched} PDF row(s) "
                     f"unmatched, {merged.file_rows_unmatched} spreadsheet row(s) unmatched")
    lines += [f"  warning: {warning}" for warning in warnings]
    return Processed(write_bol_csv(records), lines, len(warnings))


def write_atomically(path: Path, data: bytes) -> None:
    """A reader of ``path`` sees the old file or the whole new one."""
    path = path.resolve()
    publish_bytes(path.parent, path.name, data)


class Progress:
    """A one-line progress bar on stderr, for terminals only."""

    WIDTH = 30

    def __init__(self, total: int) -> None:
        self.total = total

    def show(self, done: int, name: str) -> None:
        filled = self.WIDTH * done // max(self.total, 1)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        sys.stderr.write(f"\r[{bar}] {done}/{self.total} {name[:40]:<40}")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")


def _reason(error: Exception) -> str:
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return str(error)


def _fail(reason: str, code: int = UNUSABLE) -> int:
    print(f"error: {reason}", file=sys.stderr)
    return code


