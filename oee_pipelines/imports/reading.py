"""Reading what operators really produce into a table of text cells with spreadsheet row numbers.

CSV in UTF-8 (with or without BOM) or Windows-1252, comma, semicolon or tab separated; XLSX,
XLSM, XLS and ODS through calamine, which reads cells and never runs a macro. The header is the
first row (of the first sheet that has one) holding a template's columns, so title rows above
it and other sheets are skipped; blank rows and a trailing totals row are dropped. Every cell
stays text here (dates of a workbook in ISO 8601, numbers as written): `validation.py` types
them, so a bad cell is reported, never guessed.

A file that is not what it claims, too large, a decompression bomb or oddly named is refused
whole (`Refused`) before anything parses it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath

import polars as pl

from oee_pipelines.errors import ConfigError, OeeError
from oee_pipelines.imports.templates import (
    TEMPLATES,
    Template,
    normalised,
    recognise,
    template_named,
)

ROW = "_row"
"""Column of the spreadsheet row number (1 = the first line or row of the file or sheet)."""
HEADER_SEARCH_ROWS = 30
"""How far down a title block may push the header."""
MAX_BYTES = 200 << 20
"""Default size limit of a file (OEE_IMPORT_MAX_BYTES)."""
MAX_UNPACKED_BYTES = 1 << 30
"""What a workbook (a zip) may unpack to, at most."""
MAX_PACKING_RATIO = 200
"""A zip member more compressed than this is a decompression bomb, not a spreadsheet."""

_TEXT = ".csv", ".txt"
_ZIP = ".xlsx", ".xlsm", ".ods"
_OLE = (".xls",)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_TOTALS = re.compile(r"^\s*(grand\s+)?(total|totals|sum|summe|gesamt)\b", re.IGNORECASE)
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\]|^[.\-~]|^\s|\s$")


def max_bytes_from_env(env: Mapping[str, str] | None = None) -> int:
    """The size limit of an imported file: OEE_IMPORT_MAX_BYTES, default MAX_BYTES."""
    text = (os.environ if env is None else env).get("OEE_IMPORT_MAX_BYTES", "").strip()
    if not text:
        return MAX_BYTES
    if not text.isdigit() or int(text) == 0:
        raise ConfigError(f"OEE_IMPORT_MAX_BYTES={text!r} is not a positive number of bytes")
    return int(text)


class Refused(OeeError):
    """A file refused whole: unreadable, empty, hostile, or without a template's columns."""


@dataclass(frozen=True)
class Table:
    template: Template
    sheet: str
    """The sheet read ('' for CSV)."""
    header_row: int
    frame: pl.DataFrame
    """One text column per template column present (missing optional ones are null), and ROW."""
    notes: tuple[str, ...] = ()
    """What the reader did that the user should know (encoding, skipped rows, macros)."""


def check_name(name: str) -> None:
    """Refuse names with path tricks: separators, control characters, leading dots or dashes."""
    if not name or _BAD_NAME.search(name) or name in {".", ".."}:
        raise Refused(
            f"file name {name!r} is refused: no separators, control characters, "
            "or leading dot, dash or tilde"
        )


def read_table(
    name: str, data: bytes, hint: str | None = None, max_bytes: int = MAX_BYTES
) -> Table:
    """The file's data table; raises `Refused` naming the file and why."""
    check_name(name)
    if len(data) > max_bytes:
        raise Refused(f"{name} is {len(data)} bytes, above the limit of {max_bytes}")
    if not data.strip():
        raise Refused(f"{name} is empty")
    suffix = PurePath(name).suffix.lower()
    kind = _content_kind(data)
    expected = "zip" if suffix in _ZIP else "ole" if suffix in _OLE else "text"
    if suffix not in (*_TEXT, *_ZIP, *_OLE):
        raise Refused(f"{name}: {suffix or 'no extension'} is not a CSV or spreadsheet file")
    if kind != expected:
        raise Refused(
            f"{name}: the content is {_KIND_NAMES[kind]}, which does not match its extension "
            f"{suffix}; save it again in the format its name says"
        )
    if kind == "text":
        return _read_csv(name, data, hint)
    if kind == "zip":
        _check_zip(name, data)
    return _read_workbook(name, data, hint)


_KIND_NAMES = {
    "zip": "a zip archive (XLSX/ODS)",
    "ole": "an old Excel (XLS) workbook",
    "text": "text",
}


def _content_kind(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    if data.startswith(_OLE_MAGIC):
        return "ole"
    return "text"


def _check_zip(name: str, data: bytes) -> None:
    """Refuse a decompression bomb by its directory, before anything is unpacked."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as error:
        raise Refused(f"{name} is not a readable workbook: {error}") from None
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise Refused(f"{name} unpacks to {unpacked} bytes, above {MAX_UNPACKED_BYTES}")
    for member in members:
        if member.file_size > MAX_PACKING_RATIO * max(member.compress_size, 1) + (1 << 20):
            raise Refused(
                f"{name} looks like a decompression bomb: {member.filename} is compressed "
                f"{member.file_size // max(member.compress_size, 1)}:1"
            )


def _decode(data: bytes) -> tuple[bytes, str | None]:
    """UTF-8 bytes of the text (BOM removed), and a note when it was Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        data.decode("utf-8")
        return data, None
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace").encode("utf-8"), "read as Windows-1252"


def _read_csv(name: str, data: bytes, hint: str | None) -> Table:
    data, note = _decode(data)
    found = _csv_header(data, hint)
    if isinstance(found, list):
        raise Refused(_no_header(name, hint, found))
    template, delimiter, header_line = found
    try:
        frame = pl.read_csv(
            data,
            separator=delimiter,
            skip_rows=header_line - 1,
            has_header=True,
            infer_schema=False,
            truncate_ragged_lines=True,
            raise_if_empty=False,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as error:
        raise Refused(f"{name} is not readable CSV: {error}") from None
    frame = frame.with_row_index(ROW, offset=header_line + 1)
    notes = (note,) if note else ()
    return _table(name, template, "", header_line, frame, notes)


def _csv_header(data: bytes, hint: str | None) -> tuple[Template, str, int] | list[list[str]]:
    """The template, delimiter and 1-based line of the first header row; or, when there is
    none, the rows looked at."""
    head = data[: 1 << 16].decode("utf-8", errors="replace").splitlines()[:HEADER_SEARCH_ROWS]
    looked_at = []
    for number, line in enumerate(head, start=1):
        for delimiter in (";", ",", "\t"):
            if delimiter not in line:
                continue
            cells = next(csv.reader([line], delimiter=delimiter), [])
            template = recognise(cells, hint)
            if template is not None:
                return template, delimiter, number
            looked_at.append(cells)
    return looked_at


def _read_workbook(name: str, data: bytes, hint: str | None) -> Table:
    from python_calamine import CalamineError, CalamineWorkbook

    looked_at: list[Sequence[object]] = []
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        for sheet_name in book.sheet_names:
            rows = book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
            for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
                template = recognise(row, hint)
                if template is not None:
                    return _sheet_table(name, template, sheet_name, index, rows)
            looked_at += rows[:HEADER_SEARCH_ROWS]
    except CalamineError as error:
        raise Refused(f"{name} is not a readable workbook: {error}") from None
    raise Refused(_no_header(name, hint, looked_at))


def _sheet_table(
    name: str, template: Template, sheet: str, index: int, rows: Sequence[Sequence[object]]
) -> Table:
    header = [normalised(cell) for cell in rows[index]]
    columns: dict[str, list[str | None]] = {}
    for position, column in enumerate(header):
        if column and column not in columns:
            columns[column] = [
                _cell_text(row[position]) if position < len(row) else None
                for row in rows[index + 1 :]
            ]
    frame = pl.DataFrame(columns, schema={c: pl.String for c in columns})
    frame = frame.with_row_index(ROW, offset=index + 2)
    notes = ("macros ignored (never run)",) if name.lower().endswith(".xlsm") else ()
    return _table(name, template, sheet, index + 1, frame, notes)


def _cell_text(cell: object) -> str | None:
    """A workbook cell as text: dates in ISO 8601, whole numbers without a fraction."""
    if cell is None or cell == "":
        return None
    if isinstance(cell, dt.datetime | dt.date | dt.time):
        return cell.isoformat(sep=" ") if isinstance(cell, dt.datetime) else cell.isoformat()
    if isinstance(cell, bool):
        return str(cell).lower()
    if isinstance(cell, float) and cell.is_integer() and abs(cell) < 2**53:
        return str(int(cell))
    return str(cell)


def _table(
    name: str,
    template: Template,
    sheet: str,
    header_row: int,
    frame: pl.DataFrame,
    notes: tuple[str, ...],
) -> Table:
    """The template's columns (matched by normalised name), blank rows and totals dropped."""
    present = {normalised(column): column for column in frame.columns if column != ROW}
    selected = [
        (pl.col(present[column.name]) if column.name in present else pl.lit(None, pl.String))
        .str.strip_chars()
        .replace("", None)
        .alias(column.name)
        for column in template.columns
    ]
    frame = frame.select(ROW, *selected)
    frame = frame.filter(~pl.all_horizontal(pl.col(template.names).is_null()))
    if len(frame) and _is_totals(frame.row(-1)[1:]):
        frame = frame.head(-1)
        notes += ("a trailing totals row was skipped",)
    if frame.is_empty():
        raise Refused(f"{name} has a {template.name} header but no data rows")
    return Table(template, sheet, header_row, frame, notes)


def _is_totals(cells: tuple[object, ...]) -> bool:
    return any(isinstance(cell, str) and _TOTALS.match(cell) for cell in cells)


def _no_header(name: str, hint: str | None, looked_at: Sequence[Sequence[object]]) -> str:
    """Which required columns the nearest header lacks, or the templates' required columns."""
    wanted = [template_named(hint)] if hint else list(TEMPLATES.values())
    best: tuple[int, Template, list[str]] | None = None
    for cells in looked_at:
        names = {normalised(cell) for cell in cells}
        for template in wanted:
            required = [column for column in template.required if column != "site"]
            missing = [column for column in required if column not in names]
            found = len(required) - len(missing)
            if found >= 2 and (best is None or found > best[0]):
                best = (found, template, missing)
    if best is not None:
        _, template, missing = best
        return f"{name}: its {template.name} header is missing the column(s) {', '.join(missing)}"
    shapes = "; ".join(f"{t.name}: {', '.join(t.required)}" for t in wanted)
    return (
        f"{name}: no header row with the required columns in its first {HEADER_SEARCH_ROWS} "
        f"rows (required: {shapes})"
    )
