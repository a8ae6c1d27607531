"""The four import templates of contracts.md section 4, and their blank files for operators.

A template says, per column, what a cell must hold; validation (`validation.py`) reads it, and
`write_templates` turns it into a CSV and an XLSX with a header note and drop-down lists where
a column has fixed values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from oee_pipelines.errors import ConfigError

Kind = Literal["text", "timestamp", "number", "count", "integer", "choice"]

QUALITY_CODES = {"192": "good", "64": "uncertain", "0": "bad"}
"""OPC quality codes a sensor log may use instead of the words."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "text"
    required: bool = True
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Template:
    name: str
    target: str
    """The curated table the rows load into."""
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    """The columns that identify a row (its natural key in the target table)."""
    interval: tuple[str, str] | None = None
    """Start and end columns: the end must be after the start."""
    note: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        """Columns a file must have (a blank `site` may be filled in by `--site`)."""
        return tuple(column.name for column in self.columns if column.required)

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


_TIME_NOTE = "local time of the site (or ISO 8601 with offset)"
_HIERARCHY = (
    Column("site", note="site id of the plant model"),
    Column("line", note="line id"),
    Column("machine", note="machine id"),
)

TEMPLATES: dict[str, Template] = {
    template.name: template
    for template in (
        Template(
            "downtime",
            "downtime_event",
            (
                *_HIERARCHY,
                Column("start_time", "timestamp", note=_TIME_NOTE),
                Column("end_time", "timestamp", note=_TIME_NOTE),
                Column("reason_code", required=False),
                Column("reason", required=False),
                Column("category", "choice", choices=("planned", "unplanned")),
                Column("comment", required=False),
            ),
            key=("machine", "start_time"),
            interval=("start_time", "end_time"),
            note="One stop per row; a corrected file replaces the rows of that machine and start.",
        ),
        Template(
            "sensor_log",
            "telemetry",
            (
                Column("timestamp", "timestamp", note=_TIME_NOTE),
                *_HIERARCHY,
                Column("tag", note="what was measured, e.g. fill_temperature"),
                Column("value", "number"),
                Column("unit", required=False),
                Column(
                    "quality",
                    "choice",
                    required=False,
                    choices=("good", "uncertain", "bad"),
                    note="good/uncertain/bad or OPC 192/64/0; blank is good",
                ),
            ),
            key=("machine", "tag", "timestamp"),
            note="One reading per row: manual sensor readings, logger exports.",
        ),
        Template(
            "production_counts",
            "production_count",
            (
                *_HIERARCHY,
                Column("start_time", "timestamp", note=_TIME_NOTE),
                Column("end_time", "timestamp", note=_TIME_NOTE),
                Column("good_count", "count"),
                Column("reject_count", "count"),
            ),
            key=("machine", "start_time"),
            interval=("start_time", "end_time"),
            note="Parts counted per machine and interval.",
        ),
        Template(
            "schedule",
            "work_order",
            (
                Column("work_order"),
                Column("site", note="site id of the plant model"),
                Column("line", note="line id"),
                Column("product_sku"),
                Column("recipe_id", required=False),
                Column("planned_start", "timestamp", note=_TIME_NOTE),
                Column("planned_end", "timestamp", note=_TIME_NOTE),
                Column("planned_qty", "number", low=0),
                Column("priority", "integer", required=False, low=1, high=10, note="1 to 10"),
            ),
            key=("work_order",),
            interval=("planned_start", "planned_end"),
            note="The production schedule: one work order per row.",
        ),
    )
}


def template_named(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ConfigError(
            f"unknown template {name!r}; the templates are {', '.join(TEMPLATES)}"
        ) from None


def recognise(header: Iterable[object], hint: str | None = None) -> Template | None:
    """The template whose required columns (site aside) a header row holds, or None.

    `hint` (a `--template` or the inbox folder's name) is tried alone when given.
    """
    names = {normalised(cell) for cell in header}
    candidates = [template_named(hint)] if hint else list(TEMPLATES.values())
    for template in candidates:
        if all(name in names for name in template.required if name != "site"):
            return template
    return None


def normalised(cell: object) -> str:
    """A header cell as matched: case-insensitive, surrounding whitespace ignored."""
    return str(cell).strip().lower() if cell is not None else ""


def write_templates(folder: Path) -> list[Path]:
    """Write `<template>.csv` and `<template>.xlsx` for every template into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for template in TEMPLATES.values():
        csv_path = folder / f"{template.name}.csv"
        csv_path.write_text(",".join(template.names) + "\n", encoding="utf-8")
        xlsx_path = folder / f"{template.name}.xlsx"
        _workbook(template).save(xlsx_path)
        written += [csv_path, xlsx_path]
    return written


def _workbook(template: Template) -> Workbook:
    """A sheet with a note in row 1, the header in row 2 and drop-downs for fixed values."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = template.name
    sheet.append([f"{template.note} Required: {', '.join(template.required)}."])
    sheet["A1"].font = Font(italic=True)
    sheet.append(list(template.names))
    for index, column in enumerate(template.columns, start=1):
        letter = get_column_letter(index)
        sheet[f"{letter}2"].font = Font(bold=True)
        sheet.column_dimensions[letter].width = max(14, len(column.name) + 4)
        if column.choices:
            choices = DataValidation(
                type="list", formula1=f'"{",".join(column.choices)}"', allow_blank=True
            )
            choices.add(f"{letter}3:{letter}10000")
            sheet.add_data_validation(choices)
        if column.note:
            sheet[f"{letter}2"].comment = Comment(column.note, "oee")
    return book
