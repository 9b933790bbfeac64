"""The engine's values: what a PDF yields and what a report says about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass(frozen=True)
class ReportWarning:
    """Something the engine noticed and did not silently fix or drop.

    ``page`` is 1-based; ``text`` is the offending line as read, when there is one.
    """

    code: str
    message: str
    page: int | None = None
    text: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = f"page {self.page}: " if self.page is not None else ""
        shown = f" [{self.text}]" if self.text else ""
        return f"{where}{self.message}{shown}"


@dataclass(frozen=True, slots=True)
class PdfRow:
    """One table row of a BOL page; numbers as printed, thousands separators removed."""

    invoice: str
    style: str
    cartons: str
    pieces: str
    weight: str
    page: int


@dataclass(frozen=True)
class Totals:
    cartons: str
    pieces: str
    weight: str


@dataclass
class Invoice:
    """One invoice with its rows in PDF order and the figures that apply to all of them."""

    number: str
    first_page: int
    last_page: int
    rows: list[PdfRow] = field(default_factory=list)
    total_pieces: str = ""
    total_weight: str = ""
    cube: str = ""


@dataclass
class Extraction:
    """Everything read from one PDF: its invoices in order, and the report."""

    pages: int
    invoices: list[Invoice]
    warnings: list[ReportWarning]

    @property
    def rows(self) -> list[PdfRow]:
        return [row for invoice in self.invoices for row in invoice.rows]

    def to_dict(self) -> dict:
        """A JSON-ready form, so a merge can start from the PDF's rows without the PDF."""
        return {
            "pages": self.pages,
            "invoices": [_invoice_dict(invoice) for invoice in self.invoices],
            "warnings": [w.to_dict() for w in self.warnings],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Extraction:
        invoices = [Invoice(**{**inv, "rows": [PdfRow(**r) for r in inv["rows"]]})
                    for inv in data["invoices"]]
        return cls(data["pages"], invoices, [ReportWarning(**w) for w in data["warnings"]])

    def summary(self) -> dict:
        return {
            "pages": self.pages,
            "invoices": len(self.invoices),
            "rows": len(self.rows),
            "warnings": [w.to_dict() for w in self.warnings],
        }


_INVOICE_FIELDS = [f.name for f in fields(Invoice) if f.name != "rows"]
_ROW_FIELDS = [f.name for f in fields(PdfRow)]


def _invoice_dict(invoice: Invoice) -> dict:
    # Not asdict(): it deep-copies every value, and made this a quarter of a long PDF's job.
    return {**{name: getattr(invoice, name) for name in _INVOICE_FIELDS},
            "rows": [{name: getattr(row, name) for name in _ROW_FIELDS} for row in invoice.rows]}
