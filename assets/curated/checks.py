"""Invariants of the machine-data tables, checked with pandera before the rollups read them.

The tables are written by several sources (realtime ingest, backfills); a key on start_ts keeps
each row unique but cannot stop two intervals of one machine from overlapping, which would
count the same second twice in OEE. These checks are blocking: the rollups wait for them.
"""

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import pandera.pandas as pa
from dagster import AssetCheckResult, AssetKey, MetadataValue, asset_check
from psycopg import sql

from oee_pipelines.vocabulary import MACHINE_STATES
from resources import ClockResource, WarehouseResource

LOOKBACK = dt.timedelta(days=7)
"""How far back from now each run looks: where ingest and late data still write. Anchored on
now, never on the newest row, so one row dated far in the future cannot blind the checks."""


def _intervals_do_not_overlap(frame: pd.DataFrame) -> pd.Series:
    """Per row: does the interval end before the machine's next interval starts?

    An open interval (no end yet) is only valid as the machine's last one.
    """
    ordered = frame.sort_values(["machine_id", "start_ts"])
    next_start = ordered.groupby("machine_id")["start_ts"].shift(-1)
    ok = next_start.isna() | (ordered["end_ts"].notna() & (ordered["end_ts"] <= next_start))
    return ok.reindex(frame.index)


def _interval_schema(**columns: pa.Column) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {"machine_id": pa.Column(str), "start_ts": pa.Column(), "end_ts": pa.Column(nullable=True)}
        | columns,
        checks=pa.Check(_intervals_do_not_overlap, name="intervals_do_not_overlap"),
        coerce=True,  # an empty window has no dtypes to infer
    )


MACHINE_STATE_SCHEMA = _interval_schema(state=pa.Column(str, pa.Check.isin(sorted(MACHINE_STATES))))
PRODUCTION_COUNT_SCHEMA = _interval_schema(
    good_count=pa.Column(int, pa.Check.ge(0)), reject_count=pa.Column(int, pa.Check.ge(0))
)


def validate(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> AssetCheckResult:
    """Run the schema over every row (lazy), reporting the failing rows and which checks failed."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        failures = errors.failure_cases
        failing = sorted(failures["index"].dropna().unique())
        sample = frame.loc[failing[:20]].to_string()
        return AssetCheckResult(
            passed=False,
            metadata={
                "rows_checked": len(frame),
                "failing_rows": len(failing),
                "checks_failed": sorted(failures["check"].astype(str).unique()),
                "sample": MetadataValue.md(f"```\n{sample}\n```"),
            },
        )
    return AssetCheckResult(passed=True, metadata={"rows_checked": len(frame), "failing_rows": 0})


def _recent(
    warehouse: WarehouseResource, clock: ClockResource, table: str, columns: Sequence[str]
) -> pd.DataFrame:
    """The rows that start within LOOKBACK before now, and any (implausible) later ones."""
    query = sql.SQL("SELECT {columns} FROM {table} WHERE start_ts > %s").format(
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        table=sql.Identifier("curated", table),
    )
    with warehouse.pool.connection() as conn:
        rows = conn.execute(query, (clock.now() - LOOKBACK,)).fetchall()
    return pd.DataFrame(rows, columns=list(columns))


@asset_check(asset=AssetKey(["curated", "machine_state"]), blocking=True)
def machine_states_are_consistent(
    warehouse: WarehouseResource, clock: ClockResource
) -> AssetCheckResult:
    """Known states only, and the intervals of one machine never overlap."""
    columns = ("machine_id", "start_ts", "end_ts", "state")
    return validate(MACHINE_STATE_SCHEMA, _recent(warehouse, clock, "machine_state", columns))


@asset_check(asset=AssetKey(["curated", "production_count"]), blocking=True)
def production_counts_are_consistent(
    warehouse: WarehouseResource, clock: ClockResource
) -> AssetCheckResult:
    """No negative counts, and the count intervals of one machine never overlap."""
    columns = ("machine_id", "start_ts", "end_ts", "good_count", "reject_count")
    frame = _recent(warehouse, clock, "production_count", columns)
    return validate(PRODUCTION_COUNT_SCHEMA, frame)
