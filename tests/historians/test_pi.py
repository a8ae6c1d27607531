"""The PI Web API backfill against the simulated PI Web API over real HTTP."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance

from assets.pi.assets import pi_tag_history
from oee_pipelines.connectors.pi import PiWebApi, _after_page, _last
from oee_pipelines.errors import SourceError
from resources import WarehouseResource
from resources.pi import PiWebApiResource
from simulator.servers.pi import SimulatedPiWebApi
from tests.historians.conftest import HISTORIANS_PATH, backfill
from tests.historians.truth import UTC, assert_matches_truth, instant, rows, us

pytestmark = pytest.mark.slow  # backfills over real HTTP into a real warehouse

BAD_TEXT = {"bad": "Bad Input", "comm": "I/O Timeout"}
# Europe/Berlin leaves summer time on 2026-10-25 at 01:00 UTC: the window spans the change.
FIRST, LAST = "2026-10-24", "2026-10-26"
START = dt.datetime(2026, 10, 24, tzinfo=UTC)
END = dt.datetime(2026, 10, 27, tzinfo=UTC)
DAY = dt.timedelta(days=1)


def _resources(database_url: str, url: str, **pi: object) -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(database_url=database_url),
        "pi": PiWebApiResource(
            base_url=f"{url}/piwebapi",
            data_server="PISRV01",
            config_path=str(HISTORIANS_PATH),
            **pi,
        ),
    }


def test_a_three_day_backfill_equals_the_recorded_history(
    database_url, warehouse, pi_api, pi_history, historians
):
    api, server = pi_api
    result = backfill(pi_tag_history, _resources(database_url, server.url), FIRST, LAST)
    assert result.success
    assert_matches_truth(warehouse, "pi", historians["pi"], pi_history, START, END, BAD_TEXT)
    metadata = result.asset_materializations_for_node("pi_tag_history")[0].metadata
    assert metadata["days"].value == 3


def test_rerunning_a_day_changes_nothing(database_url, warehouse, pi_api):
    _, server = pi_api
    assert backfill(pi_tag_history, _resources(database_url, server.url), FIRST, LAST).success
    before = rows(warehouse, "pi")
    assert backfill(pi_tag_history, _resources(database_url, server.url), "2026-10-25").success
    assert rows(warehouse, "pi") == before


@pytest.mark.parametrize("fault", ["error", "webexception"])
def test_an_api_error_fails_only_its_day_and_rerunning_completes(
    database_url, warehouse, pi_api, pi_history, historians, fault
):
    api, server = pi_api
    api.faults[dt.date(2026, 10, 25)] = fault
    with DagsterInstance.ephemeral() as instance:
        result = backfill(
            pi_tag_history, _resources(database_url, server.url), FIRST, LAST, instance
        )
        assert not result.success
        failure = result.failure_data_for_node("pi_tag_history").error
        assert "pi: 1 of 3 days failed" in failure.message
        assert "2026-10-25: pi streamsets/recorded" in failure.message
        assert ("502" if fault == "error" else "WebException") in failure.message
        assert instance.get_materialized_partitions(AssetKey(["pi", "telemetry"])) == {
            "2026-10-24",
            "2026-10-26",
        }
        days = {ts.date() for _, _, ts, *_ in rows(warehouse, "pi")["telemetry"]}
        assert days == {dt.date(2026, 10, 24), dt.date(2026, 10, 26)}

        api.faults.clear()
        assert backfill(
            pi_tag_history, _resources(database_url, server.url), "2026-10-25", instance=instance
        ).success
        assert_matches_truth(warehouse, "pi", historians["pi"], pi_history, START, END, BAD_TEXT)


def test_paging_past_max_count_loses_and_repeats_nothing(pi_api, pi_history):
    api, server = pi_api
    tags = list(pi_history.tags)
    start, end = dt.datetime(2026, 10, 25, tzinfo=UTC), dt.datetime(2026, 10, 25, 6, tzinfo=UTC)
    with PiWebApi(f"{server.url}/piwebapi", "PISRV01", max_count=150_000) as whole:
        expected = whole.recorded(tags, start, end).sort("tag", maintain_order=True)
    requests = api.requests
    with PiWebApi(f"{server.url}/piwebapi", "PISRV01", max_count=7, tags_per_request=5) as paged:
        read = paged.recorded(tags, start, end).sort("tag", maintain_order=True)
    assert read.equals(expected)
    assert api.requests - requests > 100
    for tag in tags:  # the boundary values outside the window come too
        truth = [pi_history.before(tag, us(start)), *pi_history.values(tag, us(start), us(end))]
        truth.append(pi_history.after(tag, us(end)))
        instants = expected.filter(pl.col("tag") == tag)["ts"].to_list()
        assert instants == [instant(t) for t, _, _ in truth if t]


def test_a_paged_request_hands_on_each_tag_whole_and_in_time_order(pi_api, pi_history):
    """The order of the warehouse's key (tags as given, each in time order), however the calls
    page: a day's rows arriving in that order have their key built in one pass."""
    _, server = pi_api
    tags = sorted(pi_history.tags, reverse=True)  # the order given, not the server's
    start, end = dt.datetime(2026, 10, 25, tzinfo=UTC), dt.datetime(2026, 10, 25, 6, tzinfo=UTC)
    with PiWebApi(f"{server.url}/piwebapi", "PISRV01", max_count=7, tags_per_request=5) as paged:
        read = paged.recorded(tags, start, end)
    ranked = read.with_columns(rank=pl.col("tag").replace_strict(tags, list(range(len(tags)))))
    assert ranked["rank"].is_sorted()
    assert ranked.equals(ranked.sort("rank", "ts", maintain_order=True))


def test_a_paged_backfill_equals_the_recorded_history(
    database_url, warehouse, pi_api, pi_history, historians
):
    api, server = pi_api
    requests = api.requests
    resources = _resources(database_url, server.url, max_count=100, tags_per_request=4)
    assert backfill(pi_tag_history, resources, "2026-10-25").success
    assert api.requests - requests > 100  # a day of 1-minute values is 15 pages a tag
    day = START + DAY
    assert_matches_truth(warehouse, "pi", historians["pi"], pi_history, day, day + DAY, BAD_TEXT)


def test_a_page_boundary_inside_equal_timestamps_keeps_each_value_once():
    t1, t2 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"
    previous = [t1, t2, t2]
    page = [*previous, t2, "2026-01-03T00:00:00Z"]
    assert _after_page(_last(previous), page) == 3  # the third value at t2 is new


def test_errors_name_the_call_and_the_cause(pi_api):
    _, server = pi_api
    with (
        PiWebApi(f"{server.url}/piwebapi", "PISRV01") as client,
        pytest.raises(SourceError, match=r"pi points/multiple NOPE: PI Point not found"),
    ):
        client.web_ids(["NOPE"])
    with pytest.raises(Exception, match="max_count must be 1..150000"):
        PiWebApi(f"{server.url}/piwebapi", "PISRV01", max_count=150_001)


def test_other_sources_win_where_they_overlap_and_the_overlap_is_reported(
    database_url, warehouse, pi_api, pi_history, historians
):
    _, server = pi_api
    machine_id, signal = "BER-L1-FILLER", "fill_temperature"
    address = historians["pi"].machines[machine_id][signal].address
    first, *_ = pi_history.values(address, us(START), us(START + dt.timedelta(minutes=5)))
    taken = instant(first[0])
    with warehouse.connection() as conn:  # a realtime reading at an instant PI recorded too
        conn.execute(
            "INSERT INTO curated.telemetry"
            " (machine_id, tag, ts, site_id, line_id, value, quality, source)"
            " SELECT machine_id, %s, %s, site_id, line_id, -1.0, 'good', 'realtime'"
            " FROM curated.machine WHERE machine_id = %s",
            (signal, taken, machine_id),
        )
    result = backfill(pi_tag_history, _resources(database_url, server.url), FIRST)
    assert result.success
    metadata = result.asset_materializations_for_node("pi_tag_history")[0].metadata
    assert metadata["overlap_telemetry"].value == 1
    with warehouse.connection() as conn:
        at_taken = conn.execute(
            "SELECT source, value FROM curated.telemetry"
            " WHERE machine_id = %s AND tag = %s AND ts = %s",
            (machine_id, signal, taken),
        ).fetchall()
    assert at_taken == [("realtime", -1.0)]
    written = [row for row in rows(warehouse, "pi")["telemetry"] if row[:2] == (machine_id, signal)]
    assert [row[2] for row in written] == [
        instant(t)
        for t, _, _ in pi_history.values(address, us(START), us(END - 2 * DAY) - 1)
        if instant(t) != taken
    ]


def test_the_clock_offset_puts_readings_at_their_true_instant(
    database_url, warehouse, pi_history, historians, tmp_path
):
    config = tmp_path / "historians.yaml"
    config.write_text(
        HISTORIANS_PATH.read_text(encoding="utf-8").replace(
            "clock_offset_s: 0", "clock_offset_s: 90", 1
        ),
        encoding="utf-8",
    )
    api = SimulatedPiWebApi(pi_history, clock_behind=dt.timedelta(seconds=90))
    with api.serve() as server:
        resources = _resources(database_url, server.url)
        resources["pi"] = PiWebApiResource(
            base_url=f"{server.url}/piwebapi", data_server="PISRV01", config_path=str(config)
        )
        assert backfill(pi_tag_history, resources, FIRST).success
    assert_matches_truth(
        warehouse, "pi", historians["pi"], pi_history, START, START + DAY, BAD_TEXT
    )


def test_rows_the_warehouse_refuses_are_dead_lettered_naming_the_tag(
    database_url, warehouse, pi_api, tmp_path
):
    _, server = pi_api
    config = tmp_path / "historians.yaml"  # a machine the plant model does not know
    config.write_text(
        HISTORIANS_PATH.read_text(encoding="utf-8").replace("BER-L2-PRESS1:", "BER-L2-PRESS9:"),
        encoding="utf-8",
    )
    resources = _resources(database_url, server.url)
    resources["pi"] = PiWebApiResource(
        base_url=f"{server.url}/piwebapi", data_server="PISRV01", config_path=str(config)
    )
    result = backfill(pi_tag_history, resources, FIRST)
    assert result.success
    metadata = {
        m.asset_key.path[-1]: m.metadata
        for m in result.asset_materializations_for_node("pi_tag_history")
    }
    readings = 24 * 60  # hydraulic_pressure, one a minute for the day
    assert metadata["telemetry"]["dead_lettered"].value >= readings
    with warehouse.connection() as conn:
        letters = conn.execute(
            "SELECT count(*) FROM raw.dead_letter WHERE source = 'pi'"
            " AND target = 'curated.telemetry' AND reason = %s"
            " AND record->>'tag' = 'hydraulic_pressure'",
            ("unknown machine 'BER-L2-PRESS9'",),
        ).fetchone()[0]
    assert letters == readings
    assert not [row for row in rows(warehouse, "pi")["telemetry"] if row[0] == "BER-L2-PRESS9"]
