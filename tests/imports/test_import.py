"""Importing files into a real warehouse: validation per row, loading, reports, re-imports."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.imports.conftest import csv
from tests.imports.workbooks import xlsx

UTC = dt.UTC
SENSOR = "timestamp,site,line,machine,tag,value,unit,quality"
COUNTS = "site,line,machine,start_time,end_time,good_count,reject_count"
DOWNTIME = "site,line,machine,start_time,end_time,reason_code,reason,category,comment"
SCHEDULE = (
    "work_order,site,line,product_sku,recipe_id,planned_start,planned_end,planned_qty,priority"
)


def _rejects(report) -> list[tuple]:
    return report.rejects.select("row_number", "column_name", "reason_category").rows()


def test_a_sensor_log_loads_in_utc_with_every_bad_row_named(importer, query):
    report = importer(
        "log.csv",
        csv(
            SENSOR,
            "2026-11-20 10:00:00,S1,L1,M1,temp,12.5,degC,192",  # row 2: local Berlin = 09:00 UTC
            "2026-11-20T10:00:00+00:00,S1,L1,M1,temp,13,degC,uncertain",  # row 3
            "2026-11-20 10:02,S1,L1,M1,temp,abc,degC,",  # row 4
            "2026-11-20 10:03,S1,L1,M1,,1,degC,",  # row 5
            "2026-11-20 10:04,S2,L1,M1,temp,1,degC,",  # row 6
            "2026-11-20 10:05,S1,L1,M9,temp,1,degC,",  # row 7
            "someday,S1,L1,M1,temp,1,degC,",  # row 8
            "2026-11-20 10:06,S1,L1,M1,temp,1,degC,perfect",  # row 9
            "2026-11-20 10:00:00,S1,L1,M1,temp,14,degC,good",  # row 10: the key of row 2
            "1999-12-31 10:00,S1,L1,M1,temp,1,degC,",  # row 11: implausibly early
            "2026-12-01 10:00,S1,L1,M1,temp,1,degC,",  # row 12: after now
            "2026-11-20 10:07,S1,L1,M1,temp,NaN,degC,",  # row 13: kept, quality bad
        ),
    )
    assert report.status == "partial"
    assert _rejects(report) == [
        (4, "value", "bad_number"),
        (5, "tag", "missing_value"),
        (6, "site", "unknown_reference"),
        (7, "machine", "unknown_reference"),
        (8, "timestamp", "bad_timestamp"),
        (9, "quality", "out_of_range"),
        (10, "timestamp", "duplicate"),
        (11, "timestamp", "out_of_range"),
        (12, "timestamp", "out_of_range"),
    ]
    assert report.rows_read == 12 and report.rows_loaded == 3
    assert query(
        "SELECT ts, value, value_text, quality, source, site_id FROM curated.telemetry ORDER BY ts"
    ) == [
        (dt.datetime(2026, 11, 20, 9, tzinfo=UTC), 12.5, None, "good", "files", "S1"),
        (dt.datetime(2026, 11, 20, 9, 7, tzinfo=UTC), None, "NaN", "bad", "files", "S1"),
        (dt.datetime(2026, 11, 20, 10, tzinfo=UTC), 13.0, None, "uncertain", "files", "S1"),
    ]
    stored = query(
        "SELECT row_number, column_name, value, reason_category, message"
        " FROM curated.import_reject ORDER BY row_number"
    )
    assert stored[0] == (4, "value", "abc", "bad_number", "'abc' is not a number")
    assert "row 2" in stored[6][4]  # the duplicate names the row it repeats
    assert "before the earliest plausible time" in stored[7][4]
    files = query("SELECT file_name, template, status, rows_read, rows_loaded, rows_rejected"
                  " FROM curated.import_file")  # fmt: skip
    assert files == [("log.csv", "sensor_log", "partial", 12, 3, 9)]
    # The writer's refusals are dead letters too, with the file and row they came from.
    letters = query("SELECT context->>'row', context->>'file' FROM raw.dead_letter ORDER BY 1")
    assert letters == [("11", "log.csv"), ("12", "log.csv")]


def test_local_times_that_dst_makes_ambiguous_or_skips_are_rejected(importer):
    report = importer(
        "log.csv",
        csv(
            SENSOR,
            "2026-03-29 02:30,S1,L1,M1,t,1,,",  # skipped: clocks jump from 02:00 to 03:00
            "2026-10-25 02:30,S1,L1,M1,t,1,,",  # repeated: 02:00-03:00 happens twice
            "2026-10-25 02:30+01:00,S1,L1,M1,t,1,,",  # with its offset it is clear
        ),
    )
    messages = report.rejects.select("row_number", "reason_category", "message").rows()
    assert [m[:2] for m in messages] == [(2, "bad_timestamp"), (3, "bad_timestamp")]
    assert "does not exist in Europe/Berlin" in messages[0][2]
    assert "is ambiguous in Europe/Berlin" in messages[1][2]
    assert report.rows_loaded == 1


def test_counts_check_numbers_intervals_and_signs(importer, query):
    report = importer(
        "counts.csv",
        csv(
            COUNTS,
            "S1,L1,M1,2026-11-20 10:00,2026-11-20 11:00,100,2",
            "S1,L1,M1,2026-11-20 11:00,2026-11-20 10:30,5,0",
            "S1,L1,M1,2026-11-20 12:00,2026-11-20 13:00,-3,1.5",
            "S1,L1,M1,2026-11-20 13:00,2026-11-20 14:00,,0",
        ),
    )
    assert _rejects(report) == [
        (3, "end_time", "end_before_start"),
        (4, "good_count", "negative_count"),
        (4, "reject_count", "bad_number"),
        (5, "good_count", "missing_value"),
    ]
    assert query(
        "SELECT start_ts, good_count, reject_count, source FROM curated.production_count"
    ) == [(dt.datetime(2026, 11, 20, 9, tzinfo=UTC), 100, 2, "files")]


def test_a_corrected_file_replaces_its_rows_without_duplicates(importer, query):
    first = csv(
        DOWNTIME,
        "S1,L1,M1,2026-11-20 10:00,2026-11-20 10:30,R1,Jam,unplanned,",
        "S1,L1,M1,2026-11-20 11:00,2026-11-20 10:30,R2,Clean,planned,",
    )
    corrected = csv(
        DOWNTIME,
        "S1,L1,M1,2026-11-20 10:00,2026-11-20 10:40,R1,Jam at infeed,unplanned,fixed",
        "S1,L1,M1,2026-11-20 11:00,2026-11-20 11:30,R2,Clean,planned,",
    )
    assert importer("stops.csv", first).status == "partial"
    report = importer("stops.csv", corrected)
    assert report.status == "loaded" and report.rows_written == 2
    assert query(
        "SELECT start_ts, duration_s, reason, comment FROM curated.downtime_event ORDER BY 1"
    ) == [
        (dt.datetime(2026, 11, 20, 9, tzinfo=UTC), 2400.0, "Jam at infeed", "fixed"),
        (dt.datetime(2026, 11, 20, 10, tzinfo=UTC), 1800.0, "Clean", None),
    ]
    again = importer("stops.csv", corrected)
    assert again.rows_loaded == 2 and again.rows_written == 0
    assert query("SELECT status FROM curated.import_file ORDER BY imported_at") == [
        ("partial",),
        ("loaded",),
    ]


def test_a_sensor_log_reimported_with_corrections_keeps_one_row_per_key(importer, query):
    rows = [f"2026-11-20 10:{m:02d},S1,L1,M1,temp,{m},degC," for m in range(5)]
    importer("log.csv", csv(SENSOR, *rows))
    fixed = [row.replace(",3,degC", ",30,degC") for row in rows]
    report = importer("log.csv", csv(SENSOR, *fixed, "2026-11-21 10:00,S1,L1,M1,temp,9,degC,"))
    assert report.rows_written == 2  # the corrected value and the new day
    assert query("SELECT count(*), sum(value) FROM curated.telemetry") == [(6, 46.0)]


def test_a_schedule_loads_planned_work_orders(importer, query):
    report = importer(
        "plan.csv",
        csv(
            SCHEDULE,
            "WO-1,S1,L1,SKU-9,R-1,2026-11-20 06:00,2026-11-20 14:00,500,3",
            "WO-2,S1,L1,SKU-9,,2026-11-20 14:00,2026-11-20 22:00,-1,11",
            "WO-3,S1,L7,SKU-9,,2026-11-20 14:00,2026-11-20 22:00,10,",
        ),
    )
    assert _rejects(report) == [
        (3, "planned_qty", "out_of_range"),
        (3, "priority", "out_of_range"),
        (4, "line", "unknown_reference"),
    ]
    assert query(
        "SELECT work_order_id, planned_start, planned_qty, priority, status FROM curated.work_order"
    ) == [("WO-1", dt.datetime(2026, 11, 20, 5, tzinfo=UTC), 500.0, 3, "planned")]


def test_an_xlsx_with_excel_dates_and_serial_numbers(importer, query):
    data = xlsx(
        {
            "Counts": [
                COUNTS.split(","),
                ["S1", "L1", "M1", dt.datetime(2026, 11, 20, 10), 46346.4375, 100, 2],
            ]
        }
    )
    report = importer("counts.xlsx", data)
    assert report.status == "loaded"
    assert query("SELECT start_ts, end_ts FROM curated.production_count") == [
        (dt.datetime(2026, 11, 20, 9, tzinfo=UTC), dt.datetime(2026, 11, 20, 9, 30, tzinfo=UTC))
    ]


def test_the_site_option_fills_a_missing_site_column(importer):
    data = csv("line,machine,start_time,end_time,good_count,reject_count",
               "L1,M1,2026-11-20 10:00,2026-11-20 11:00,1,0")  # fmt: skip
    assert importer("counts.csv", data).rejects["column_name"].to_list() == ["site"]
    assert importer("counts.csv", data, site="S1").status == "loaded"


def test_a_dry_run_reports_the_same_and_writes_nothing(importer, query):
    data = csv(COUNTS, "S1,L1,M1,2026-11-20 10:00,2026-11-20 11:00,1,0",
               "S1,L1,M1,2026-11-20 12:00,2026-11-20 11:00,1,0")  # fmt: skip
    dry = importer("counts.csv", data, dry_run=True)
    assert (dry.status, _rejects(dry)) == ("partial", [(3, "end_time", "end_before_start")])
    for table in ("curated.production_count", "curated.import_file", "curated.import_reject",
                  "audit.sync_log"):  # fmt: skip
        assert query(f"SELECT count(*) FROM {table}") == [(0,)]
    real = importer("counts.csv", data)
    assert real.text() == dry.text()


def test_a_file_refused_whole_is_recorded_with_why(importer, query):
    report = importer("log.csv", csv("timestamp,site,line,machine,value", "x,S1,L1,M1,1"))
    assert not report.readable and report.status == "rejected"
    assert "missing the column(s) tag" in report.text()
    assert query("SELECT status, message LIKE '%tag%' FROM curated.import_file") == [
        ("rejected", True)
    ]
    assert query("SELECT operation, status, error LIKE '%tag%' FROM audit.sync_log") == [
        ("import", "failed", True)
    ]


@pytest.mark.parametrize("template", ["sensor_log", "downtime"])
def test_a_forced_template_must_match_the_header(importer, template):
    report = importer("x.csv", csv(COUNTS, "S1,L1,M1,2026-11-20 10:00,2026-11-20 11:00,1,0"),
                      template=template)  # fmt: skip
    assert not report.readable


def test_slices_find_duplicates_across_them_and_merge_a_reimport(importer, query, monkeypatch):
    monkeypatch.setattr("oee_pipelines.imports.loading.SLICE_ROWS", 2)
    rows = [f"2026-11-{20 + m % 2} 10:{m:02d},S1,L1,M1,temp,{m},degC," for m in range(5)]
    report = importer("log.csv", csv(SENSOR, *rows, rows[0]))
    assert _rejects(report) == [(7, "timestamp", "duplicate")]
    assert "as row 2" in report.rejects["message"][0]
    fixed = importer("log.csv", csv(SENSOR, *(r.replace(",4,deg", ",40,deg") for r in rows)))
    assert (fixed.rows_loaded, fixed.rows_written) == (5, 1)
    assert query("SELECT count(*), sum(value) FROM curated.telemetry") == [(5, 46.0)]
