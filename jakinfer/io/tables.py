"""Read delimited text tables (PEtab TSV, tidy CSV) as strings, with line numbers.

Values stay strings so that each reader converts and validates them itself and
can name the file, line and column of a bad value. Tables are never written
back to the files they came from.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from jakinfer.errors import InputError


def read_table(path: str | Path, *, delimiter: str, required: Sequence[str] = ()) -> pd.DataFrame:
    """Read a delimited text file into a DataFrame of stripped strings.

    Blank lines are skipped. `table.attrs["file"]` holds the path and
    `table.attrs["lines"]` the file line number (header = 1) of each row,
    `table.attrs["files"]` the file of each row.

    Raises:
        InputError: missing or empty file, not UTF-8, malformed CSV (e.g. a field
            over the csv module's size limit), a row with more cells than the
            header, duplicate or missing required columns.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("table file not found", file=str(path))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte {error.start})", file=str(path), row=line,
                         column=_column_of_byte(raw, error.start, delimiter)) from None
    rows: list[list[str]] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    header: list[str] | None = None
    for cells in _rows(reader, path):
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = [cell.strip() for cell in cells]
            continue
        if len(cells) > len(header):
            raise InputError(f"{len(cells)} cells but the header has {len(header)}", file=str(path), row=line)
        rows.append([cell.strip() for cell in cells] + [""] * (len(header) - len(cells)))
        lines.append(line)
    if header is None:
        raise InputError("empty table (no header row)", file=str(path), row=1)
    duplicates = sorted({c for c in header if header.count(c) > 1})
    if duplicates:
        raise InputError(f"duplicate column(s) {duplicates}", file=str(path), row=1)
    empty = [i + 1 for i, c in enumerate(header) if not c]
    if empty:
        raise InputError(f"empty column name at position {empty[0]}", file=str(path), row=1)
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"missing required column(s) {missing}", file=str(path), row=1,
                         column=missing[0])
    table = pd.DataFrame(rows, columns=header, dtype=object)
    table.attrs["file"] = str(path)
    table.attrs["lines"] = lines
    table.attrs["files"] = [str(path)] * len(rows)
    return table


def _rows(reader, path: Path):
    """The reader's rows; a CSV syntax error (e.g. a field over the csv module's size
    limit) becomes an `InputError` naming the line."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise InputError(f"malformed table: {error}", file=str(path), row=reader.line_num) from None


def _column_of_byte(raw: bytes, position: int, delimiter: str) -> str | None:
    """The header name of the column holding byte `position` (None if unknown)."""
    header_end = raw.find(b"\n")
    header = raw[: header_end if header_end >= 0 else len(raw)]
    if position < len(header):
        return None  # the header itself is broken
    line_start = raw.rfind(b"\n", 0, position) + 1
    cell = raw[line_start:position].count(delimiter.encode())
    names = header.decode("utf-8-sig", errors="replace").rstrip("\r").split(delimiter)
    return names[cell].strip() if cell < len(names) else None


def concat_tables(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Stack tables read by `read_table`, keeping each row's file and line."""
    if len(tables) == 1:
        return tables[0]
    table = pd.concat(list(tables), ignore_index=True)
    table.attrs["file"] = ", ".join(t.attrs["file"] for t in tables)
    table.attrs["lines"] = [line for t in tables for line in t.attrs["lines"]]
    table.attrs["files"] = [file for t in tables for file in t.attrs["files"]]
    return table


def read_tsv(path: str | Path, required: Sequence[str] = ()) -> pd.DataFrame:
    """`read_table` with tab delimiter (PEtab)."""
    return read_table(path, delimiter="\t", required=required)
