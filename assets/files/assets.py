"""Operators' files: each dropped file is one partition of `import_files`, keyed by its hash.

The run imports the file (`oee_pipelines.imports`: read, validate, load, report), moves it to
the archive or the quarantine with its report, and reports the rows loaded into the curated
table of its template. The asset check surfaces each file's rejected rows in the UI.
"""

import datetime as dt
from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from assets.ingest import source_specs
from assets.partitions import IMPORT_FILES
from oee_pipelines.imports import TEMPLATES, content_hash, import_file
from oee_pipelines.warehouse import Plausibility
from resources import ClockResource, WarehouseResource
from resources.files import FileDropResource

SOURCE = "files"
IMPORT_FILE_KEY = [SOURCE, "import_file"]
_CONTEXT_TABLES = ("downtime_event", "work_order")
"""Tables of the production context: no curated publisher (yet), so plain specs."""


class FileImportConfig(Config):
    path: str
    """The file, relative to the inbox (the sensor fills this in)."""
    template: str | None = None
    """The template its folder names; None: recognised from its header."""


@multi_asset(
    name="file_import",
    specs=[
        *source_specs(
            SOURCE,
            ["telemetry", "production_count"],
            description="Rows of operators' sensor_log and production_counts files.",
            skippable=True,
        ),
        *(
            AssetSpec(
                [SOURCE, table],
                group_name=SOURCE,
                kinds={"postgres"},
                deps=[AssetKey(["curated", "machine"])],
                description=f"Rows of curated.{table} written from operators' files.",
                skippable=True,
            )
            for table in _CONTEXT_TABLES
        ),
        AssetSpec(
            IMPORT_FILE_KEY,
            group_name=SOURCE,
            deps=[AssetKey(["curated", "machine"])],
            kinds={"postgres"},
            description="curated.import_file and curated.import_reject: every imported file, "
            "its status and its rejected cells.",
        ),
    ],
    check_specs=[
        AssetCheckSpec(
            "file_has_no_rejected_rows",
            asset=IMPORT_FILE_KEY,
            description="Warns with the count of rows this file had rejected.",
        )
    ],
    partitions_def=IMPORT_FILES,
    pool=SOURCE,
)
def file_import(
    context: AssetExecutionContext,
    config: FileImportConfig,
    files: FileDropResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Import the dropped file of this partition, then archive or quarantine it."""
    path = files.path(config.path)
    data = path.read_bytes()
    if content_hash(data) != context.partition_key:
        raise Failure(
            f"{config.path} changed since it was picked up (its hash is no longer the "
            f"partition's {context.partition_key[:12]}); the sensor picks up the new content"
        )
    report = import_file(
        warehouse.pool,
        path.name,
        data,
        template=config.template,
        plausibility=Plausibility(
            earliest=dt.datetime.fromisoformat(warehouse.earliest_timestamp),
            clock_skew=dt.timedelta(seconds=warehouse.clock_skew_s),
            now=clock.now,
        ),
        max_bytes=files.max_bytes,
        actor="dagster",
    )
    moved = files.settle(config.path, report)
    context.log.info(report.text())
    rejected = report.rejects["row_number"].n_unique()
    if report.template:
        yield MaterializeResult(
            asset_key=[SOURCE, TEMPLATES[report.template].target],
            metadata={
                "dagster/row_count": report.rows_loaded,
                "rows_written": report.rows_written,
                "rows_rejected": rejected,
                "file": path.name,
            },
        )
    yield MaterializeResult(
        asset_key=IMPORT_FILE_KEY,
        metadata={
            "file": path.name,
            "file_hash": report.file_hash,
            "status": report.status,
            "template": report.template or "",
            "rows_read": report.rows_read,
            "rows_loaded": report.rows_loaded,
            "rows_rejected": rejected,
            "moved_to": MetadataValue.path(str(moved)),
        },
    )
    yield AssetCheckResult(
        check_name="file_has_no_rejected_rows",
        asset_key=IMPORT_FILE_KEY,
        passed=report.status == "loaded",
        severity=AssetCheckSeverity.WARN,
        metadata={
            "rows_rejected": rejected,
            "status": report.status,
            "report": MetadataValue.md(f"```\n{report.text()}\n```"),
        },
    )
