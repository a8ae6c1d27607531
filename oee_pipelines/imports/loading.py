"""One file imported: read, validated, loaded, and reported, in one transaction.

Valid rows go where every other source's rows go: sensor logs and counts through the columnar
writer (the shared plausibility rules, one COPY per day), downtime and schedules through the
production-context upsert. Every file gets a `curated.import_file` row (keyed by its content
hash, so the same file twice is one row) and its rejected cells in `curated.import_reject`;
every import an `audit.sync_log` row. A dry run does all of it and rolls back, so its report is
exactly what an import would say.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from psycopg import Connection, Rollback, sql
from psycopg_pool import ConnectionPool

from oee_pipelines.imports.reading import MAX_BYTES, ROW, Refused, Table, read_table
from oee_pipelines.imports.validation import REJECT_SCHEMA, Plant, Validator
from oee_pipelines.warehouse.audit import sync_log
from oee_pipelines.warehouse.columnar import (
    FIELD,
    PRODUCTION_COUNT,
    REASON,
    TELEMETRY,
    ColumnarLoad,
    ColumnarTarget,
)
from oee_pipelines.warehouse.context import DOWNTIME_EVENT, WORK_ORDER, upsert
from oee_pipelines.warehouse.records import Plausibility, Window

_log = logging.getLogger(__name__)

SOURCE = "files"
SLICE_ROWS = 200_000
"""Rows validated at a time while the slice before is being copied."""
REPORT_LINES = 50
"""Rejects listed in a printed report; all of them are in curated.import_reject."""

_COLUMNAR: dict[str, tuple[ColumnarTarget, dict[str, str]]] = {
    "sensor_log": (TELEMETRY, {"machine_id": "machine", "ts": "timestamp"}),
    "production_counts": (
        PRODUCTION_COUNT,
        {"machine_id": "machine", "start_ts": "start_time", "end_ts": "end_time"},
    ),
}
"""Templates loaded by the columnar writer: its target and its fields' template columns."""


@dataclass(frozen=True)
class ImportReport:
    file_name: str
    file_hash: str
    status: str
    """'loaded', 'partial' (some rows rejected) or 'rejected' (the whole file)."""
    template: str | None = None
    sheet: str = ""
    rows_read: int = 0
    rows_loaded: int = 0
    rows_written: int = 0
    """Rows inserted or changed; a re-import of unchanged rows writes 0."""
    rejects: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REJECT_SCHEMA))
    message: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def readable(self) -> bool:
        return self.message is None

    def text(self, limit: int = REPORT_LINES) -> str:
        """The report for people: what was loaded, and each rejected cell with why."""
        lines = [f"{self.file_name} (sha256 {self.file_hash[:12]}): {self.status}"]
        if self.message:
            lines.append(f"  the whole file is rejected: {self.message}")
            return "\n".join(lines)
        where = f", sheet {self.sheet!r}" if self.sheet else ""
        lines.append(
            f"  template {self.template}{where}: {self.rows_read} rows read, {self.rows_loaded} "
            f"loaded ({self.rows_written} new or changed), "
            f"{self.rejects['row_number'].n_unique()} rejected"
        )
        lines += [f"  note: {note}" for note in self.notes]
        for row in self.rejects.head(limit).iter_rows(named=True):
            lines.append(
                f"  row {row['row_number']}, column {row['column_name']}: "
                f"{row['reason_category']}: {row['message']}"
            )
        if len(self.rejects) > limit:
            lines.append(f"  ... and {len(self.rejects) - limit} more (curated.import_reject)")
        return "\n".join(lines)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def import_file(
    pool: ConnectionPool,
    name: str,
    data: bytes,
    *,
    template: str | None = None,
    site: str | None = None,
    dry_run: bool = False,
    plausibility: Plausibility | None = None,
    max_bytes: int = MAX_BYTES,
    actor: str = "oee import",
) -> ImportReport:
    """Import one file's bytes; `name` is what it was called (its extension says its format).

    A real import is recorded in audit.sync_log, as failed with the reason when the file is
    refused whole; a dry run writes nothing at all."""
    options = _Options(template, site, dry_run, (plausibility or Plausibility()), max_bytes)
    if dry_run:
        return _import(pool, name, data, options)
    try:
        with sync_log(
            pool, actor=actor, operation="import", source_system=SOURCE, target=name
        ) as run:
            report = _import(pool, name, data, options)
            run.rows_read, run.rows_written = report.rows_read, report.rows_written
            if report.message:
                raise Refused(report.message)
    except Refused:
        pass
    return report


@dataclass(frozen=True)
class _Options:
    template: str | None
    site: str | None
    dry_run: bool
    plausibility: Plausibility
    max_bytes: int


def _import(pool: ConnectionPool, name: str, data: bytes, options: _Options) -> ImportReport:
    digest = content_hash(data)
    with pool.connection() as conn:
        started = time.perf_counter()
        try:
            table = read_table(name, data, options.template, options.max_bytes)
        except Refused as refused:
            report = ImportReport(name, digest, "rejected", message=str(refused))
            if not options.dry_run:
                with conn.transaction():
                    _store_report(conn, report)
            return report
        _log.debug("%s: read in %.3f s", name, time.perf_counter() - started)
        with conn.transaction():
            validator = Validator(table, Plant.load(conn), options.site)
            window = options.plausibility.window()
            report = _load(conn, name, digest, table, validator, window)
            _store_report(conn, report)
            started = time.perf_counter()
            if options.dry_run:
                raise Rollback()
        _log.debug("%s: transaction ended in %.3f s", name, time.perf_counter() - started)
    return report


def _load(
    conn: Connection[Any],
    name: str,
    digest: str,
    table: Table,
    validator: Validator,
    window: Window,
) -> ImportReport:
    """Validate and write the table; a large sensor log or count file in slices, each slice
    validated while the one before it is being copied."""
    template = table.template
    rejects = [pl.DataFrame(schema=REJECT_SCHEMA)]
    if template.name in _COLUMNAR:
        target, columns = _COLUMNAR[template.name]
        loaded, validating = 0, 0.0
        started = time.perf_counter()
        with ColumnarLoad(
            conn, target, SOURCE, window, {"file": name, "file_hash": digest}
        ) as load:
            for part in _slices_in_key_order(table):
                validating -= time.perf_counter()
                checked = validator.check(part)
                validating += time.perf_counter()
                rejects.append(checked.rejects)
                loaded += len(checked.accepted)
                load.add(_columnar_frame(checked.accepted, target, columns))
        _log.debug(
            "%s: validated in %.3f s, loaded in %.3f s in all",
            name,
            validating,
            time.perf_counter() - started,
        )
        result = load.result()
        written = result.written
        loaded -= len(result.rejected)
        rejects.append(_writer_rejects(result.rejected, target, columns))
    else:
        checked = validator.check(table.frame)
        rejects.append(checked.rejects)
        loaded = len(checked.accepted)
        if template.name == "downtime":
            written = upsert(conn, DOWNTIME_EVENT, _downtime_rows(checked.accepted))
        else:
            rows = _work_order_rows(checked.accepted)
            written = upsert(conn, WORK_ORDER, rows, _WORK_ORDER_COLUMNS)
    rejected = pl.concat(rejects).sort("row_number", "column_name")
    status = "loaded" if rejected.is_empty() else "partial" if loaded else "rejected"
    return ImportReport(
        name,
        digest,
        status,
        template.name,
        table.sheet,
        len(table.frame),
        loaded,
        written,
        rejected,
        None,
        table.notes,
    )


def _slices_in_key_order(table: Table) -> Iterator[pl.DataFrame]:
    """The table in slices of SLICE_ROWS, ordered by the key's columns before its timestamp
    (a stable sort: rows of one key keep their order in the file), so that the rows of each day
    reach the warehouse in key order and its index is built from sorted rows, in about half
    the time."""
    template = table.template
    key = [name for name in template.key if template.column(name).kind != "timestamp"]
    frame = table.frame.rechunk()  # gathers from one chunk are several times faster
    order = frame.select(pl.arg_sort_by(key, maintain_order=True)).to_series()
    for start in range(0, len(order), SLICE_ROWS):
        yield frame.select(pl.all().gather(order.slice(start, SLICE_ROWS)))


def _columnar_frame(
    rows: pl.DataFrame, target: ColumnarTarget, columns: dict[str, str]
) -> pl.DataFrame:
    """Validated rows under the writer's field names; the row number rides along."""
    frame = rows.rename({v: k for k, v in columns.items()}).rename({ROW: "row"})
    if target is TELEMETRY:
        frame = frame.with_columns(
            pl.col("quality").fill_null("good"), value_text=pl.lit(None, pl.String)
        )
    return frame


def _writer_rejects(
    rejected: pl.DataFrame, target: ColumnarTarget, columns: dict[str, str]
) -> pl.DataFrame:
    """The writer's refusals as rejects: implausible instants out_of_range, unknown machines
    unknown_reference, anything else the table cannot hold out_of_range."""
    field = pl.col(FIELD)
    return rejected.select(
        pl.col("row").cast(pl.Int64).alias("row_number"),
        field.replace(columns).alias("column_name"),
        pl.lit(None, pl.String).alias("value"),
        pl.when(field == "machine_id")
        .then(pl.lit("unknown_reference"))
        .otherwise(pl.lit("out_of_range"))
        .alias("reason_category"),
        pl.col(REASON).alias("message"),
    ).cast(REJECT_SCHEMA)  # type: ignore[arg-type]


def _downtime_rows(rows: pl.DataFrame) -> list[dict[str, Any]]:
    return (
        rows.select(
            machine_id="machine",
            start_ts="start_time",
            end_ts="end_time",
            category="category",
            reason_code="reason_code",
            reason="reason",
            comment="comment",
        )
        .with_columns(source=pl.lit(SOURCE))
        .to_dicts()
    )


_WORK_ORDER_COLUMNS = (
    "work_order_id",
    "site_id",
    "line_id",
    "product_sku",
    "recipe_id",
    "planned_start",
    "planned_end",
    "planned_qty",
    "priority",
    "status",
    "source",
)


def _work_order_rows(rows: pl.DataFrame) -> list[dict[str, Any]]:
    """A scheduled order is 'planned' (the MES moves it on)."""
    return (
        rows.select(
            work_order_id="work_order",
            site_id="site",
            line_id="line",
            product_sku="product_sku",
            recipe_id="recipe_id",
            planned_start="planned_start",
            planned_end="planned_end",
            planned_qty="planned_qty",
            priority="priority",
        )
        .with_columns(status=pl.lit("planned"), source=pl.lit(SOURCE))
        .to_dicts()
    )


def _store_report(conn: Connection[Any], report: ImportReport) -> None:
    """The file's import_file row and its rejects, replacing those of an earlier import."""
    conn.execute(
        """
        INSERT INTO curated.import_file AS f (file_hash, file_name, template, sheet, status,
            rows_read, rows_loaded, rows_rejected, message)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (file_hash) DO UPDATE SET (file_name, template, sheet, status, rows_read,
            rows_loaded, rows_rejected, message, imported_at) = (EXCLUDED.file_name,
            EXCLUDED.template, EXCLUDED.sheet, EXCLUDED.status, EXCLUDED.rows_read,
            EXCLUDED.rows_loaded, EXCLUDED.rows_rejected, EXCLUDED.message, now())
        """,
        (
            report.file_hash,
            report.file_name,
            report.template,
            report.sheet,
            report.status,
            report.rows_read,
            report.rows_loaded,
            report.rejects["row_number"].n_unique(),
            report.message,
        ),
    )
    conn.execute("DELETE FROM curated.import_reject WHERE file_hash = %s", (report.file_hash,))
    columns = ("file_hash", "sheet", *REJECT_SCHEMA)
    statement = sql.SQL("COPY curated.import_reject ({}) FROM STDIN").format(
        sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor().copy(statement) as copy:
        for row in report.rejects.iter_rows():
            copy.write_row((report.file_hash, report.sheet, *row))
