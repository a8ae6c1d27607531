"""The columnar writer: the shared writer's rules as column expressions, one COPY per day."""

from __future__ import annotations

import datetime as dt

import polars as pl

from oee_pipelines.warehouse.columnar import PRODUCTION_COUNT, TELEMETRY, ColumnarWriter
from tests.imports.conftest import PLAUSIBLE

UTC = dt.UTC


def _telemetry(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "machine_id": pl.String,
            "tag": pl.String,
            "ts": pl.Datetime("us", "UTC"),
            "value": pl.Float64,
            "value_text": pl.String,
            "unit": pl.String,
            "quality": pl.String,
            "row": pl.Int64,
        },
        orient="row",
    )


def test_rejected_rows_are_dead_letters_with_reasons_and_the_rest_loads(pool, query):
    day = dt.datetime(2026, 11, 20, tzinfo=UTC)
    frame = _telemetry(
        ("M1", "t", day, 1.0, None, "u", "good", 1),
        ("M1", "t", day.replace(year=1970), 1.0, None, "u", "good", 2),
        ("M1", "t", day.replace(month=12), 1.0, None, "u", "good", 3),
        ("M9", "t", day, 1.0, None, "u", "good", 4),
        ("M1", "", day, 1.0, None, "u", "good", 5),
        ("M1", "t\x00", day, 1.0, None, "u", "good", 6),
        ("M1", "t", day, 1.0, None, "u", "fine", 7),
        ("M1", "inf", day, float("inf"), None, "u", "good", 8),
    )
    result = ColumnarWriter(pool, PLAUSIBLE).write(TELEMETRY, frame, "test", {"file": "f"})
    assert (result.received, result.written) == (8, 2)
    assert result.rejected.select("row", "field").rows() == [
        (2, "ts"), (3, "ts"), (4, "machine_id"), (5, "tag"), (6, "tag"), (7, "quality")
    ]  # fmt: skip
    assert "before the earliest plausible time" in result.rejected["reason"][0]
    assert query(
        "SELECT tag, value, value_text, quality, site_id, line_id FROM curated.telemetry"
        " ORDER BY tag"
    ) == [  # fmt: skip
        ("inf", None, "Infinity", "bad", "S1", "L1"),
        ("t", 1.0, None, "good", "S1", "L1"),
    ]
    letters = query("SELECT reason, context->>'row', context->>'file' FROM raw.dead_letter"
                    " ORDER BY 2")  # fmt: skip
    assert [row[1:] for row in letters] == [(str(n), "f") for n in range(2, 8)]
    assert letters[2][0] == "unknown machine 'M9'"


def test_partitions_are_made_only_for_days_with_accepted_rows(pool, query):
    frame = _telemetry(
        ("M1", "t", dt.datetime(2026, 11, 20, 23, tzinfo=UTC), 1.0, None, None, "good", 1),
        ("M1", "t", dt.datetime(2026, 11, 21, 1, tzinfo=UTC), 1.0, None, None, "good", 2),
        ("M9", "t", dt.datetime(2026, 11, 25, 1, tzinfo=UTC), 1.0, None, None, "good", 3),
    )
    ColumnarWriter(pool, PLAUSIBLE).write(TELEMETRY, frame, "test")
    partitions = query(
        "SELECT relname FROM pg_class"
        " WHERE relname LIKE 'telemetry\\_2%' AND relkind = 'r' ORDER BY 1"
    )
    assert partitions == [("telemetry_20261120",), ("telemetry_20261121",)]


def test_a_key_already_there_or_twice_in_the_frame_is_merged_last_row_winning(pool, query):
    writer = ColumnarWriter(pool, PLAUSIBLE)
    start = dt.datetime(2026, 11, 20, 8, tzinfo=UTC)
    hour = dt.timedelta(hours=1)

    def counts(*rows: tuple) -> pl.DataFrame:
        schema = ["machine_id", "start_ts", "end_ts", "good_count", "reject_count"]
        return pl.DataFrame(rows, schema=schema, orient="row").with_columns(
            pl.col("start_ts", "end_ts").dt.replace_time_zone("UTC")
        )

    assert (
        writer.write(PRODUCTION_COUNT, counts(("M1", start, start + hour, 5, 0)), "a").written == 1
    )
    again = writer.write(
        PRODUCTION_COUNT,
        counts(
            ("M1", start, start + hour, 5, 0),  # unchanged: not rewritten
            ("M1", start + hour, start + 2 * hour, 1, 0),
            ("M1", start + hour, start + 2 * hour, 7, 1),  # the same key again: this one wins
            ("M1", start + 2 * hour, start + hour, 1, 0),  # end before start
            ("M1", start + 3 * hour, start + 4 * hour, -1, 0),
        ),
        "a",
    )
    assert again.written == 1
    assert again.rejected["reason"].to_list() == [
        "end_ts is not after start_ts",
        "good_count -1 is negative",
    ]
    assert query("SELECT good_count, reject_count, source FROM curated.production_count"
                 " ORDER BY start_ts") == [(5, 0, "a"), (7, 1, "a")]  # fmt: skip


def test_a_naive_timestamp_column_is_refused_row_by_row(pool):
    frame = _telemetry(
        ("M1", "t", dt.datetime(2026, 11, 20, tzinfo=UTC), 1.0, None, None, "good", 1)
    )
    naive = frame.with_columns(pl.col("ts").dt.replace_time_zone(None))
    result = ColumnarWriter(pool, PLAUSIBLE).write(TELEMETRY, naive, "test")
    assert result.written == 0
    assert result.rejected["reason"].to_list() == ["ts is a timestamp without timezone"]


def test_a_new_day_is_loaded_then_attached_with_its_key_and_waiting_rows(pool, query):
    day = dt.datetime(2026, 11, 20, 8, tzinfo=UTC)
    with pool.connection() as conn:  # a row that waited in the default partition for its day
        conn.execute(
            "INSERT INTO curated.telemetry_default (machine_id, tag, ts, site_id, line_id, value,"
            " source) VALUES ('M1', 'old', %s, 'S1', 'L1', 1, 'x')",
            (day,),
        )
    frame = _telemetry(
        ("M1", "t", day, 1.0, None, None, "good", 1),
        ("M1", "t", day + dt.timedelta(seconds=1), 2.0, None, None, "good", 2),
    )
    assert ColumnarWriter(pool, PLAUSIBLE).write(TELEMETRY, frame, "test").written == 2
    assert query(
        "SELECT tableoid::regclass::text, tag FROM curated.telemetry ORDER BY tag, ts"
    ) == [
        ("curated.telemetry_20261120", "old"),
        ("curated.telemetry_20261120", "t"),
        ("curated.telemetry_20261120", "t"),
    ]
    assert query(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'curated.telemetry_20261120'::regclass"
        " AND contype IN ('p', 'c') ORDER BY 1"
    ) == [("telemetry_20261120_pkey",), ("telemetry_quality_check",)]


def test_a_key_twice_on_a_new_day_is_merged_last_row_winning(pool, query):
    day = dt.datetime(2026, 11, 20, 8, tzinfo=UTC)
    frame = _telemetry(
        ("M1", "t", day, 1.0, None, None, "good", 1),
        ("M1", "t", day, 2.0, None, None, "good", 2),
    )
    assert ColumnarWriter(pool, PLAUSIBLE).write(TELEMETRY, frame, "test").written == 1
    assert query("SELECT value FROM curated.telemetry") == [(2.0,)]


def test_every_field_arrives_as_given(pool, query):
    """The binary COPY: text as written (non-ASCII, empty), nulls, microseconds, extreme
    numbers and counts beyond 32 bits."""
    day = dt.datetime(2026, 11, 20, 8, 0, 0, 123456, tzinfo=UTC)
    writer = ColumnarWriter(pool, PLAUSIBLE)
    frame = _telemetry(
        ("M1", "Öltemperatur °C", day, -1.5e-300, "ein Text", "", "uncertain", 1),
        ("M1", "t", day, None, None, None, "bad", 2),
    )
    assert writer.write(TELEMETRY, frame, "test").written == 2
    assert query(
        "SELECT tag, ts, value, value_text, unit, quality FROM curated.telemetry ORDER BY tag"
    ) == [
        ("t", day, None, None, None, "bad"),
        ("Öltemperatur °C", day, -1.5e-300, "ein Text", "", "uncertain"),
    ]
    counts = pl.DataFrame(
        [("M1", day, day + dt.timedelta(microseconds=1), 2**40, 0)],
        schema=["machine_id", "start_ts", "end_ts", "good_count", "reject_count"],
        orient="row",
    )
    assert writer.write(PRODUCTION_COUNT, counts, "test").written == 1
    assert query("SELECT start_ts, end_ts, good_count FROM curated.production_count") == [
        (day, day + dt.timedelta(microseconds=1), 2**40)
    ]
