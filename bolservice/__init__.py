"""bolservice: Bill of Lading PDFs and their spreadsheets in, the 28-column BOL CSV out."""

__version__ = "0.1.0"
