"""What `oee demo` does with the historians: serve both, backfill the last days in process."""

from __future__ import annotations

import datetime as dt

import pytest

from assets.aveva.assets import aveva_tag_history
from assets.historians import backfill_recent_days
from assets.pi.assets import pi_tag_history
from resources import ClockResource, WarehouseResource
from resources.aveva import AvevaHistorianResource
from resources.pi import PiWebApiResource
from simulator.servers.historians import serve_historians
from tests.historians.conftest import HISTORIANS_PATH, SEED
from tests.historians.truth import rows

pytestmark = pytest.mark.slow  # backfills over real HTTP into a real warehouse


def test_the_demo_backfills_the_last_days_of_both_historians(database_url, warehouse, plant):
    now = dt.datetime(2026, 11, 23, 6, 10, tzinfo=dt.UTC)
    with serve_historians(plant, SEED, HISTORIANS_PATH) as env:
        results = backfill_recent_days(
            [pi_tag_history, aveva_tag_history],
            {
                "warehouse": WarehouseResource(database_url=database_url),
                "clock": ClockResource(pinned=now.isoformat()),
                "pi": PiWebApiResource(
                    base_url=env["OEE_PI_URL"],
                    data_server="PISRV01",
                    config_path=str(HISTORIANS_PATH),
                ),
                "aveva": AvevaHistorianResource(
                    base_url=env["OEE_AVEVA_URL"], config_path=str(HISTORIANS_PATH)
                ),
            },
            now,
            days=1,
        )
    assert [result.success for result in results] == [True, True]
    for source in ("pi", "aveva"):
        days = {ts.date() for _, _, ts, *_ in rows(warehouse, source)["telemetry"]}
        assert days == {dt.date(2026, 11, 22)}
