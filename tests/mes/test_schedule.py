"""The nightly MES and ERP sync runs at 02:00 local time of each site, across DST changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from dagster import ScheduleDefinition
from dagster._utils.schedules import cron_string_iterator

from oee_pipelines.definitions import build_definitions
from oee_pipelines.settings import Settings


def _schedules() -> dict[str, ScheduleDefinition]:
    defs = build_definitions(Settings.from_env({}))
    return {
        schedule.tags["oee/site"]: schedule
        for schedule in defs.schedules or []
        if "oee/site" in schedule.tags
    }


def _local_ticks(schedule: ScheduleDefinition, first: dt.datetime, days: int) -> list[dt.datetime]:
    zone = ZoneInfo(schedule.execution_timezone or "UTC")
    ticks = cron_string_iterator(first.timestamp(), schedule.cron_schedule, str(zone))
    return [next(ticks).astimezone(zone) for _ in range(days)]


@pytest.mark.parametrize(
    ("site", "timezone", "autumn_change"),
    [
        ("BER", "Europe/Berlin", dt.date(2026, 10, 25)),
        ("CHI", "America/Chicago", dt.date(2026, 11, 1)),
    ],
)
def test_the_nightly_sync_runs_at_two_local_across_the_autumn_change(site, timezone, autumn_change):
    schedule = _schedules()[site]
    assert (schedule.execution_timezone, schedule.job.name) == (timezone, "context_sync_job")
    first = dt.datetime.combine(autumn_change - dt.timedelta(days=3), dt.time(), dt.UTC)
    ticks = _local_ticks(schedule, first, 6)
    assert [tick.time() for tick in ticks] == [dt.time(2)] * 6
    assert [tick.date() for tick in ticks] == [
        autumn_change + dt.timedelta(days=n) for n in range(-3, 3)
    ]  # once a day, the change day included (02:00 twice on the wall clock in Berlin: run once)
    offsets = {tick.utcoffset() for tick in ticks}
    assert len(offsets) == 2  # summer and winter time both seen


@pytest.mark.parametrize(
    ("site", "spring_change"), [("BER", dt.date(2026, 3, 29)), ("CHI", dt.date(2026, 3, 8))]
)
def test_on_the_spring_change_the_missing_two_oclock_runs_an_hour_later(site, spring_change):
    ticks = _local_ticks(
        _schedules()[site],
        dt.datetime.combine(spring_change, dt.time(), dt.UTC) - dt.timedelta(days=1),
        3,
    )
    assert [(tick.date(), tick.time()) for tick in ticks] == [
        (spring_change - dt.timedelta(days=1), dt.time(2)),
        (spring_change, dt.time(3)),  # 02:00 does not exist that night
        (spring_change + dt.timedelta(days=1), dt.time(2)),
    ]
