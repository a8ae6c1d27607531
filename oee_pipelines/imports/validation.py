"""Validation of an imported table, column by column, as polars expressions and pandera.

Each cell is parsed (numbers with decimal commas, timestamps in several spellings), then the
typed rows are checked against the template's pandera schema (types, required values, ranges,
fixed values), then against the plant (sites, lines, machines), intervals and duplicate keys.
Each problem is a reason category of contracts.md section 4 with a message naming the value. A
row with any problem is rejected, and each of its problems is one reject (row number, column,
value, category, message); the other rows are typed and go on to the warehouse. Local times
are the row's site's (its IANA timezone); a local time that DST makes ambiguous or skips is
rejected for that row, never guessed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandera.polars as pa
import polars as pl
from psycopg import Connection

from oee_pipelines.imports.reading import ROW, Table
from oee_pipelines.imports.templates import QUALITY_CODES, Column, Template
from oee_pipelines.warehouse.records import MAX_KEY_LENGTH

REJECT_SCHEMA = {
    "row_number": pl.Int64,
    "column_name": pl.String,
    "value": pl.String,
    "reason_category": pl.String,
    "message": pl.String,
}
_BIGINT_MAX = 2**63 - 1
_DTYPES: dict[str, pl.DataType] = {
    "timestamp": pl.Datetime("us", "UTC"),
    "number": pl.Float64(),
    "count": pl.Int64(),
    "integer": pl.Int64(),
}
_KEYS = frozenset({"site", "line", "machine", "tag", "work_order"})
_NUMERIC = ("number", "count", "integer")
# Most specific first: polars parses an exact format without fractions several times faster.
_NAIVE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
)
_AWARE_FORMATS = ("%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M%z")
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_EXCEL_LAST_SERIAL = 2958465  # 9999-12-31
_TIMESTAMP_HELP = "use YYYY-MM-DD HH:MM[:SS], DD.MM.YYYY HH:MM, or ISO 8601 with an offset"


@dataclass(frozen=True)
class Plant:
    """What rows may refer to: sites (with timezones), lines and machines of the plant model."""

    timezones: dict[str, str]
    line_sites: dict[str, str]
    machine_lines: dict[str, str]

    @classmethod
    def load(cls, conn: Connection[Any]) -> Plant:
        return cls(
            dict(conn.execute("SELECT site_id, timezone FROM curated.site").fetchall()),
            dict(conn.execute("SELECT line_id, site_id FROM curated.line").fetchall()),
            dict(conn.execute("SELECT machine_id, line_id FROM curated.machine").fetchall()),
        )


@dataclass(frozen=True)
class Validated:
    accepted: pl.DataFrame
    """The valid rows, typed; timestamps in UTC; with ROW."""
    rejects: pl.DataFrame
    """One row per problem (REJECT_SCHEMA)."""
    rows_read: int


class Validator:
    """Validates a table, whole or in consecutive slices (so loading can overlap checking);
    a row repeating the key of a row in an earlier slice is a duplicate all the same."""

    def __init__(self, table: Table, plant: Plant, default_site: str | None = None) -> None:
        self._template = table.template
        self._plant = plant
        self._default_site = default_site
        self._seen = pl.DataFrame(schema={"_key": pl.UInt64, "_first": pl.Int64})
        """The key hash and row number of every complete key met so far."""
        self._schema = schema(table.template)

    def _conforming(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The typed cells checked against the template's pandera schema (required values,
        ranges, fixed values); each failure becomes the cell's problem unless parsing already
        gave it one."""
        names = self._template.names
        typed = frame.select(pl.col(_value(name)).alias(name) for name in names)
        try:
            self._schema.validate(typed, lazy=True)
            return frame
        except pa.errors.SchemaErrors as errors:
            cases = errors.failure_cases.filter(pl.col("index").is_not_null())
        frame = frame.with_row_index("_index")
        for (name,), failed in cases.group_by("column"):
            column = self._template.column(str(name))
            category = (
                pl.when(pl.col("check") == "not_nullable")
                .then(pl.lit("missing_value"))
                .when(pl.lit(column.kind == "count") & pl.col("check").str.starts_with("greater"))
                .then(pl.lit("negative_count"))
                .otherwise(pl.lit("out_of_range"))
            )
            failed = failed.select(
                pl.col("index").cast(pl.UInt32).alias("_index"), category.alias("_category")
            ).unique("_index", keep="first")
            kind, raw = pl.col(_kind(column.name)), pl.col(column.name)
            frame = frame.join(failed, on="_index", how="left", maintain_order="left")
            applies = pl.col("_category").is_not_null() & kind.is_null()
            applies &= (pl.col("_category") != "missing_value") | raw.is_null()
            frame = frame.with_columns(
                pl.when(applies)
                .then(pl.col("_category"))
                .otherwise(kind)
                .alias(_kind(column.name)),
                pl.when(applies)
                .then(_schema_message(column))
                .otherwise(pl.col(_message(column.name)))
                .alias(_message(column.name)),
            ).drop("_category")
        return frame.drop("_index")

    def check(self, frame: pl.DataFrame) -> Validated:
        template, plant = self._template, self._plant
        if self._default_site:
            frame = frame.with_columns(pl.col("site").fill_null(pl.lit(self._default_site)))
        cells = [column for column in template.columns if column.kind != "timestamp"]
        commas = {
            column.name
            for column in cells
            if column.kind in _NUMERIC and frame[column.name].str.contains(",", literal=True).any()
        }
        frame = frame.with_columns(
            *_places(template.names, plant),
            *(_value_of(column, column.name in commas) for column in cells),
        )
        frame = frame.with_columns(expression for column in cells for expression in _typed(column))
        frame = frame.with_columns(*_references(template.names, plant))
        for column in template.columns:
            if column.kind == "timestamp":
                frame = _instants(frame, column)
        frame = self._conforming(frame)
        if template.interval:
            frame = _interval(frame, *template.interval)
        frame = self._duplicates(frame, template.key)
        rejects = pl.concat(
            [
                frame.filter(pl.col(_kind(name)).is_not_null()).select(
                    pl.col(ROW).cast(pl.Int64).alias("row_number"),
                    pl.lit(name).alias("column_name"),
                    pl.col(name).alias("value"),
                    pl.col(_kind(name)).alias("reason_category"),
                    pl.col(_message(name)).alias("message"),
                )
                for name in template.names
            ]
        ).sort("row_number", "column_name")
        failed = pl.any_horizontal(pl.col(_kind(name)).is_not_null() for name in template.names)
        accepted = frame.filter(~failed).select(
            ROW, *(pl.col(_value(name)).alias(name) for name in template.names)
        )
        return Validated(accepted, rejects.cast(REJECT_SCHEMA), len(frame))  # type: ignore[arg-type]

    def _duplicates(self, frame: pl.DataFrame, key: tuple[str, ...]) -> pl.DataFrame:
        """A row with the key of an earlier row: duplicate, on the key's last column. Keys are
        compared by their 64-bit hash (a false match: about one in 10^7 for a million rows)."""
        values = [pl.col(_value(name)) for name in key]
        complete = pl.all_horizontal(v.is_not_null() for v in values)
        hashed = frame.select(values).hash_rows()
        frame = frame.with_columns(pl.when(complete).then(pl.lit(hashed)).alias("_key"))
        keys = frame.select("_key", pl.col(ROW).cast(pl.Int64).alias("_first")).drop_nulls()
        if pl.concat([self._seen["_key"], keys["_key"]]).n_unique() == len(self._seen) + len(keys):
            self._seen = pl.concat([self._seen, keys])  # no key twice: the common case, cheap
            return frame.drop("_key")
        frame = frame.with_columns(pl.col(ROW).cast(pl.Int64).first().over("_key").alias("_here"))
        frame = frame.join(self._seen, on="_key", how="left", maintain_order="left")
        known = pl.col("_key").is_not_null()
        new = frame.filter(known & pl.col("_first").is_null() & (pl.col("_here") == pl.col(ROW)))
        self._seen = pl.concat([self._seen, new.select("_key", pl.col("_here").alias("_first"))])
        first_row = pl.coalesce("_first", "_here")
        last = key[-1]
        kind, message = pl.col(_kind(last)), pl.col(_message(last))
        failed = known & (first_row != pl.col(ROW)) & kind.is_null()
        return frame.with_columns(
            pl.when(failed).then(pl.lit("duplicate")).otherwise(kind).alias(_kind(last)),
            pl.when(failed)
            .then(pl.format(f"the same {', '.join(key)} as row {{}}", first_row))
            .otherwise(message)
            .alias(_message(last)),
        ).drop("_key", "_here", "_first")


def schema(template: Template) -> pa.DataFrameSchema:
    """The typed rows of a template as pandera sees them: types, required values, ranges."""
    columns = {}
    for column in template.columns:
        checks = []
        if column.kind == "count":
            checks.append(pa.Check.ge(0))
        if column.low is not None:
            checks.append(pa.Check.ge(column.low))
        if column.high is not None:
            checks.append(pa.Check.le(column.high))
        if column.choices:
            checks.append(pa.Check.isin(list(column.choices)))
        columns[column.name] = pa.Column(
            _DTYPES.get(column.kind, pl.String()), checks=checks, nullable=not column.required
        )
    return pa.DataFrameSchema(columns, name=template.name)


def _schema_message(column: Column) -> pl.Expr:
    """What a schema failure of `column` says, from the cell as written."""
    name, raw, category = column.name, pl.col(column.name), pl.col("_category")
    if column.choices:
        limits = f"one of {', '.join(column.choices)}"
    elif column.low is not None and column.high is not None:
        limits = f"from {column.low:g} to {column.high:g}"
    elif column.high is not None:
        limits = f"{column.high:g} or less"
    else:
        limits = f"{column.low or 0:g} or more"
    return (
        pl.when(category == "missing_value")
        .then(pl.lit(f"{name} is required"))
        .when(category == "negative_count")
        .then(pl.format(f"{name} {{}} is negative", raw))
        .otherwise(pl.format(f"{name} {{}} is not {limits}", _shown(name)))
    )


def _value(name: str) -> str:
    return f"{name}__value"


def _kind(name: str) -> str:
    return f"{name}__kind"


def _message(name: str) -> str:
    return f"{name}__message"


def _problem(name: str, checks: list[tuple[pl.Expr, str, pl.Expr]]) -> list[pl.Expr]:
    """The first failing check's category and message for column `name` (null: no problem)."""
    kind: Any = pl
    message: Any = pl
    for failed, category, text in checks:
        kind = kind.when(failed.fill_null(False)).then(pl.lit(category))
        message = message.when(failed.fill_null(False)).then(text)
    return [
        kind.otherwise(pl.lit(None, pl.String)).alias(_kind(name)),
        message.otherwise(pl.lit(None, pl.String)).alias(_message(name)),
    ]


def _shown(name: str) -> pl.Expr:
    return pl.format("'{}'", pl.col(name).str.slice(0, 100))


def _value_of(column: Column, decimal_commas: bool) -> pl.Expr:
    """The column's cells typed, numbers as floats (a comma is a decimal point where there is
    no point, looked for only when the slice has one); timestamps wait for the site's
    timezone."""
    raw = pl.col(column.name)
    value = raw
    if column.kind in _NUMERIC:
        if decimal_commas:
            decimal_comma = ~raw.str.contains(".", literal=True)
            value = pl.when(decimal_comma).then(raw.str.replace(",", ".", literal=True))
            value = value.otherwise(raw)
        value = value.cast(pl.Float64, strict=False)
    elif column.kind == "choice":
        value = raw.str.to_lowercase().replace(QUALITY_CODES if column.name == "quality" else {})
    return value.alias(_value(column.name))


def _typed(column: Column) -> list[pl.Expr]:
    """The problems of the column's typed cells; counts and integers made whole."""
    name, raw = column.name, pl.col(column.name)
    checks: list[tuple[pl.Expr, str, pl.Expr]] = []
    value = pl.col(_value(name))
    if column.kind in _NUMERIC:
        checks.append(
            (
                raw.is_not_null() & value.is_null(),
                "bad_number",
                pl.format("{} is not a number", _shown(name)),
            )
        )
        if column.kind != "number":
            checks.append(
                (
                    value.is_finite().not_() | (value != value.floor()),
                    "bad_number",
                    pl.format("{} is not a whole number", _shown(name)),
                )
            )
            checks.append(
                (
                    value.abs() > _BIGINT_MAX,
                    "out_of_range",
                    pl.lit(f"{name} is beyond the integer range"),
                )
            )
            value = (
                pl.when(pl.all_horizontal(c[0].fill_null(False).not_() for c in checks))
                .then(value)
                .cast(pl.Int64, strict=False)
            )
    elif name in _KEYS:
        checks.append(
            (
                raw.str.len_chars() > MAX_KEY_LENGTH,
                "out_of_range",
                pl.lit(f"{name} is longer than {MAX_KEY_LENGTH} characters"),
            )
        )
    checks.append(
        (
            raw.str.contains("\x00", literal=True),
            "out_of_range",
            pl.lit(f"{name} contains a NUL byte"),
        )
    )
    return [value.alias(_value(name)), *_problem(name, checks)]


def _places(names: tuple[str, ...], plant: Plant) -> list[pl.Expr]:
    """The timezone of each row's site, and the site of its line (looked up once)."""
    zone = pl.col("site").replace_strict(plant.timezones, default=None, return_dtype=pl.String)
    if "line" not in names:
        return [zone.alias("_zone")]
    line_site = pl.col("line").replace_strict(
        plant.line_sites, default=None, return_dtype=pl.String
    )
    return [zone.alias("_zone"), line_site.alias("_line_site")]


def _references(names: tuple[str, ...], plant: Plant) -> list[pl.Expr]:
    """Unknown sites, lines not of their site, machines not on their line: unknown_reference."""
    site, line, line_site = pl.col("site"), pl.col("line"), pl.col("_line_site")
    updated: list[pl.Expr] = []

    def refer(name: str, failed: pl.Expr, text: pl.Expr) -> None:
        kind, message = pl.col(_kind(name)), pl.col(_message(name))
        failed = failed.fill_null(False) & kind.is_null()
        updated.extend(
            [
                pl.when(failed)
                .then(pl.lit("unknown_reference"))
                .otherwise(kind)
                .alias(_kind(name)),
                pl.when(failed).then(text).otherwise(message).alias(_message(name)),
            ]
        )

    site_known = pl.col("_zone").is_not_null()
    refer("site", site.is_not_null() & ~site_known, pl.format("unknown site {}", _shown("site")))
    if "line" in names:
        refer(
            "line",
            line.is_not_null() & site_known & (line_site.is_null() | (line_site != site)),
            pl.format("{} is not a line of site {}", _shown("line"), _shown("site")),
        )
    if "machine" in names:
        machine = pl.col("machine")
        machine_line = machine.replace_strict(
            plant.machine_lines, default=None, return_dtype=pl.String
        )
        refer(
            "machine",
            machine.is_not_null()
            & (line_site == site)
            & (machine_line.is_null() | (machine_line != line)),
            pl.format("{} is not a machine of line {}", _shown("machine"), _shown("line")),
        )
    return updated


def _instants(frame: pl.DataFrame, column: Column) -> pl.DataFrame:
    """The column as UTC instants: an offset is taken as written, a local time (or an Excel
    serial number) in the row's site's timezone. Each step runs only on the values the steps
    before left unparsed, so a file in one format pays for one parse."""
    name = column.name
    text = frame[name]
    if text.str.contains("T", literal=True).any():
        text = text.str.replace("T", " ", literal=True)
    if text.str.contains("[zZ]$").any():
        text = text.str.replace(r"[zZ]$", "+00:00")
    aware_rows = text.str.contains(r"[+-]\d{2}:?\d{2}$").fill_null(False)
    any_aware = aware_rows.any()
    aware = _parsed(
        _where(aware_rows, text) if any_aware else text.clear(len(text)), _AWARE_FORMATS, "UTC"
    )
    naive = _parsed(_where(~aware_rows, text) if any_aware else text, _NAIVE_FORMATS, None)
    pending = naive.is_null() & ~aware_rows & text.is_not_null()
    if pending.any():
        serial = _where(pending, text).cast(pl.Float64, strict=False)
        in_range = (serial >= 1) & (serial <= _EXCEL_LAST_SERIAL)
        microseconds = (_where(in_range, serial) * 86_400_000_000).round().cast(pl.Int64)
        excel = pl.select(
            pl.lit(_EXCEL_EPOCH, pl.Datetime("us")) + pl.duration(microseconds=pl.lit(microseconds))
        ).to_series()
        naive = naive.fill_null(excel)
    zones = frame["_zone"]
    local = pl.repeat(None, len(frame), dtype=pl.Datetime("us", "UTC"), eager=True).alias(name)
    dst = pl.repeat(None, len(frame), dtype=pl.String, eager=True)
    for zone in zones.drop_nulls().unique().to_list():
        here = (zones == zone).fill_null(False)
        placed = naive.dt.replace_time_zone(zone, ambiguous="null", non_existent="null")
        local = _where(here, placed.dt.convert_time_zone("UTC"), local)
        unplaced = here & placed.is_null() & naive.is_not_null()
        if unplaced.any():
            dst = _where(unplaced, _dst_problem(naive, zone), dst)
    raw = pl.col(name)
    checks = [
        (
            pl.col("_dst").is_not_null(),
            "bad_timestamp",
            pl.format("local time {} {}", _shown(name), pl.col("_dst")),
        ),
        (
            raw.is_not_null()
            & pl.col(_value(name)).is_null()
            & (pl.col("_zone").is_not_null() | pl.col("_aware")),
            "bad_timestamp",
            pl.format(f"{{}} is not a timestamp ({_TIMESTAMP_HELP})", _shown(name)),
        ),
    ]
    frame = frame.with_columns(
        aware.fill_null(local).alias(_value(name)), dst.alias("_dst"), aware_rows.alias("_aware")
    )
    return frame.with_columns(_problem(name, checks)).drop("_dst", "_aware")


def _dst_problem(naive: pl.Series, zone: str) -> pl.Series:
    """Why a local time has no instant in `zone`: DST repeats it or skips it."""
    earliest = naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
    return pl.select(
        pl.when(pl.lit(earliest).is_not_null())
        .then(pl.lit(f"is ambiguous in {zone} (the hour repeated when DST ends): add the offset"))
        .otherwise(pl.lit(f"does not exist in {zone} (the hour skipped when DST starts)"))
    ).to_series()


def _where(mask: pl.Series, values: pl.Series, otherwise: pl.Series | None = None) -> pl.Series:
    """`values` where `mask` holds, else `otherwise` (null)."""
    fallback = pl.lit(None, values.dtype) if otherwise is None else pl.lit(otherwise)
    return pl.select(pl.when(pl.lit(mask)).then(pl.lit(values)).otherwise(fallback)).to_series()


def _parsed(text: pl.Series, formats: tuple[str, ...], zone: str | None) -> pl.Series:
    """`text` parsed by the first format that fits each value (each format tried only on the
    values still unparsed, so a file in one format is parsed once)."""
    result = pl.repeat(None, len(text), dtype=pl.Datetime("us", zone), eager=True)
    for fmt in formats:
        pending = result.is_null() & text.is_not_null()
        if not pending.any():
            break
        attempt = _where(pending, text)
        parsed = attempt.str.strptime(pl.Datetime("us", zone), fmt, strict=False, cache=False)
        result = result.fill_null(parsed)
    return result


def _interval(frame: pl.DataFrame, start: str, end: str) -> pl.DataFrame:
    """An end not after its start: end_before_start, on the end column."""
    kind, message = pl.col(_kind(end)), pl.col(_message(end))
    failed = (pl.col(_value(end)) <= pl.col(_value(start))).fill_null(False) & kind.is_null()
    return frame.with_columns(
        pl.when(failed).then(pl.lit("end_before_start")).otherwise(kind).alias(_kind(end)),
        pl.when(failed)
        .then(pl.format(f"{end} {{}} is not after {start} {{}}", pl.col(end), pl.col(start)))
        .otherwise(message)
        .alias(_message(end)),
    )
