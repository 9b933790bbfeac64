"""The engine's input errors.

Each message says what is wrong and what to do, in words a clerk can act on. The two
families let a caller (the CLI, the HTTP layer) tell a file of the wrong kind from a file
of the right kind whose content cannot be used, without knowing every case.
"""


class BolInputError(Exception):
    """Input the engine cannot turn into a BOL CSV."""


class UnsupportedFileError(BolInputError):
    """The bytes are not the kind of file this step takes (judged by content, not name)."""


class UnusableContentError(BolInputError):
    """A well-formed file whose content cannot be used."""


class NotAPdfError(UnsupportedFileError):
    pass


class NotASpreadsheetError(UnsupportedFileError):
    pass


class UnreadablePdfError(UnusableContentError):
    pass


class EncryptedPdfError(UnusableContentError):
    pass


class TooManyPagesError(UnusableContentError):
    pass


class NoInvoiceError(UnusableContentError):
    pass


class NumberTooLongError(UnusableContentError):
    """A row, totals line or cube holds a figure longer than any BOL's."""


class UnreadableSpreadsheetError(UnusableContentError):
    pass


class MissingColumnsError(UnusableContentError):
    pass


class NoMatchError(UnusableContentError):
    pass
