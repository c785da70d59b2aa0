"""Cells of the CSV files TaskHub writes, safe to open in a spreadsheet.

A cell whose text starts with `=`, `+`, `-` or `@` (or a tab or carriage return, which some
spreadsheets skip before reading one of those) is a formula to Excel, LibreOffice and Google
Sheets: a project name or a reason a person typed could run one on the reader's machine (CSV or
formula injection). Such text is written with a leading apostrophe, which spreadsheets show as
text and do not evaluate. Numbers TaskHub computes (amounts, which may be negative) are written
as they are.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """Text for a CSV cell that no spreadsheet evaluates as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
