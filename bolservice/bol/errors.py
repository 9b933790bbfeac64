"""The engine's input errors.

Each message says what is wrong and what to do, in words a clerk can act on. The two
families let a caller (the CLI, the HTTP layer) tell a file of the wrong kind from a file
of the right kind whose content cannot be used, without knowing every case.

Each class names its kind of failure in ``code``, a stable name a program can switch on
while the message is reworded; a subclass without a code of its own is reported under its
family's. The codes are the engine's; what they become in HTTP is the web layer's.
"""


class BolInputError(Exception):
    """Input the engine cannot turn into a BOL CSV."""

    code = "unusable_content"


class UnsupportedFileError(BolInputError):
    """The bytes are not the kind of file this step takes (judged by content, not name)."""

    code = "unsupported_file"


class UnusableContentError(BolInputError):
    """A well-formed file whose content cannot be used."""

    code = "unusable_content"


class NotAPdfError(UnsupportedFileError):
    pass


class NotASpreadsheetError(UnsupportedFileError):
    pass


class UnreadablePdfError(UnusableContentError):
    code = "unreadable_pdf"


class DamagedPageError(UnreadablePdfError):
    """A page whose dictionary or contents is missing, or that the page tree's count leaves
    out: readers would skip it or read it blank, so the CSV would lack its rows."""

    def __init__(self, page: int, damage: str) -> None:
        super().__init__(f"page {page} of the PDF is damaged ({damage}), so its rows cannot be read; "
                         "export the BOL again from the system that made it")
        self.page, self.damage = page, damage

    def __reduce__(self) -> tuple:  # it crosses from the pool's processes
        return type(self), (self.page, self.damage)


class EncryptedPdfError(UnusableContentError):
    code = "encrypted_pdf"


class TooManyPagesError(UnusableContentError):
    code = "too_many_pages"


class NoInvoiceError(UnusableContentError):
    code = "no_invoice"


class ScannedPdfError(NoInvoiceError):
    """No invoice, and the pages without text are pictures: a scan, not an exported BOL."""

    code = "scanned_pdf"


class NumberTooLongError(UnusableContentError):
    """A row, totals line or cube holds a figure longer than any BOL's."""


class UnreadableSpreadsheetError(UnusableContentError):
    pass


class MissingColumnsError(UnusableContentError):
    code = "missing_columns"


class NoMatchError(UnusableContentError):
    code = "no_match"
