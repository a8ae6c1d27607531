"""The AVEVA Historian backfill against the simulated AVEVA Historian REST API over real HTTP."""

from __future__ import annotations

import datetime as dt

import pytest

from assets.aveva.assets import aveva_tag_history
from oee_pipelines.connectors.aveva import AvevaHistorian
from oee_pipelines.connectors.historian import BearerAuth
from oee_pipelines.errors import SourceError
from resources import WarehouseResource
from resources.aveva import AvevaHistorianResource
from simulator.servers._http import Credentials
from simulator.servers.aveva import SimulatedAvevaHistorian
from tests.historians.conftest import HISTORIANS_PATH, backfill
from tests.historians.truth import UTC, assert_matches_truth, rows

pytestmark = pytest.mark.slow  # backfills over real HTTP into a real warehouse

# America/Chicago leaves daylight saving time on 2026-11-01 at 07:00 UTC.
FIRST, LAST = "2026-10-31", "2026-11-02"
START = dt.datetime(2026, 10, 31, tzinfo=UTC)
END = dt.datetime(2026, 11, 3, tzinfo=UTC)


def _resources(database_url: str, url: str) -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(database_url=database_url),
        "aveva": AvevaHistorianResource(
            base_url=f"{url}/Historian/v2", config_path=str(HISTORIANS_PATH)
        ),
    }


def test_a_three_day_backfill_equals_the_recorded_history(
    database_url, warehouse, aveva_api, aveva_history, historians
):
    api, server = aveva_api
    assert backfill(aveva_tag_history, _resources(database_url, server.url), FIRST, LAST).success
    assert api.requests > 3  # paged by next link
    assert_matches_truth(warehouse, "aveva", historians["aveva"], aveva_history, START, END)


def test_an_api_error_fails_only_its_day_and_rerunning_changes_only_that_day(
    database_url, warehouse, aveva_api, aveva_history, historians
):
    api, server = aveva_api
    api.faults.add(dt.date(2026, 11, 1))
    result = backfill(aveva_tag_history, _resources(database_url, server.url), FIRST, LAST)
    assert not result.success
    message = result.failure_data_for_node("aveva_tag_history").error.message
    assert "2026-11-01: aveva ProcessValues" in message
    assert "HTTP 500: 500 The Historian storage is not available" in message
    api.faults.clear()
    assert backfill(aveva_tag_history, _resources(database_url, server.url), "2026-11-01").success
    written = rows(warehouse, "aveva")
    assert backfill(aveva_tag_history, _resources(database_url, server.url), "2026-11-01").success
    assert rows(warehouse, "aveva") == written
    assert_matches_truth(warehouse, "aveva", historians["aveva"], aveva_history, START, END)


@pytest.mark.parametrize("annotations", ["v4", "v3"])
def test_next_link_paging_in_both_annotation_styles_loses_and_repeats_nothing(
    aveva_history, annotations
):
    tags = list(aveva_history.tags)
    start, end = dt.datetime(2026, 11, 1, tzinfo=UTC), dt.datetime(2026, 11, 1, 12, tzinfo=UTC)
    whole = SimulatedAvevaHistorian(aveva_history, page_size=1_000_000)
    paged = SimulatedAvevaHistorian(aveva_history, page_size=97, annotations=annotations)
    with whole.serve() as one, paged.serve() as many:
        with AvevaHistorian(f"{one.url}/Historian/v2") as client:
            expected = client.recorded(tags, start, end).sort("tag", maintain_order=True)
        with AvevaHistorian(f"{many.url}/Historian/v2", tags_per_request=3) as client:
            read = client.recorded(tags, start, end).sort("tag", maintain_order=True)
    assert read.equals(expected)
    assert expected.height > 1000
    assert paged.requests > 40  # many pages, several ending amid a tag's rows


def test_credentials_are_sent_and_a_refusal_is_a_clear_error(aveva_history):
    tags = list(aveva_history.tags)[:1]
    start = dt.datetime(2026, 11, 1, tzinfo=UTC)
    api = SimulatedAvevaHistorian(aveva_history, Credentials(token="s3cret-token"))
    with api.serve() as server:
        with AvevaHistorian(f"{server.url}/Historian/v2", auth=BearerAuth("s3cret-token")) as ok:
            assert ok.recorded(tags, start, start + dt.timedelta(hours=1)).height
        with (
            AvevaHistorian(f"{server.url}/Historian/v2", auth=BearerAuth("wrong")) as refused,
            pytest.raises(SourceError, match="aveva ProcessValues .*: HTTP 401") as raised,
        ):
            refused.recorded(tags, start, start + dt.timedelta(hours=1))
    assert "wrong" not in str(raised.value)
