"""'Now' as a resource: the real time, unless a run or a test pins it.

Every asset and check that looks at a window of time (history until now, checks over the last
days, rollups up to now) asks this resource, so a run can be repeated for a past instant and no
test depends on the day or hour it runs.
"""

from __future__ import annotations

import datetime as dt

from dagster import ConfigurableResource
from pydantic import Field, field_validator


class ClockResource(ConfigurableResource):
    pinned: str | None = Field(
        default=None, description="An ISO 8601 instant with offset to use as now; unset: real now."
    )

    @field_validator("pinned")
    @classmethod
    def _instant_with_offset(cls, pinned: str | None) -> str | None:
        if pinned is not None and dt.datetime.fromisoformat(pinned).utcoffset() is None:
            raise ValueError("the pinned now needs a UTC offset, e.g. 2026-11-23T06:10:00+00:00")
        return pinned

    def now(self) -> dt.datetime:
        if self.pinned:
            return dt.datetime.fromisoformat(self.pinned).astimezone(dt.UTC)
        return dt.datetime.now(dt.UTC)
