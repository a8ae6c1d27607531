"""Shift calendars expanded into concrete windows, in each site's own timezone.

Written with zoneinfo alone (no calendar library), because the warehouse expands the same
calendar in SQL and the two must be checked against each other. Also holds the conversions
between aware datetimes and the integer microseconds the timeline is generated in: integers
keep every boundary exact, so a part never changes shift by rounding.
"""

from __future__ import annotations

import datetime as dt

from oee_pipelines.plant_model import Site

from ._types import ShiftWindow

UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_ONE_DAY = dt.timedelta(days=1)


def require_aware(*instants: dt.datetime) -> None:
    """Reject naive datetimes: a wall-clock time without a zone is ambiguous across sites."""
    for instant in instants:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(
                f"naive datetime {instant.isoformat()}: pass a timezone-aware datetime"
            )


def to_us(instant: dt.datetime) -> int:
    """Microseconds since the Unix epoch, exactly."""
    return (instant - _EPOCH) // _MICROSECOND


def from_us(us: int) -> dt.datetime:
    """The UTC datetime of a count of microseconds since the Unix epoch, exactly."""
    return _EPOCH + dt.timedelta(microseconds=us)


def local_instant(site: Site, day: dt.date, wall_time: dt.time) -> dt.datetime:
    """The UTC instant of a local wall-clock time at the site on a local date.

    A time that a DST change skips is read with the offset before the change; one that it
    repeats is the later of the two instants (PostgreSQL's `timestamp AT TIME ZONE` rule, so
    a break at 02:00 on a fall-back night falls where the warehouse puts it).
    """
    first = dt.datetime.combine(day, wall_time, tzinfo=site.tz)
    second = first.replace(fold=1)
    if first.utcoffset() != second.utcoffset() and second.astimezone(UTC).astimezone(
        site.tz
    ).replace(tzinfo=None) == dt.datetime.combine(day, wall_time):
        return second.astimezone(UTC)  # repeated: the later instant
    return first.astimezone(UTC)


def production_day_start(site: Site, day: dt.date) -> dt.datetime:
    """The UTC instant at which the site's production day of local date `day` starts.

    It starts at the site's earliest shift start time, so that no shift is cut in two (a night
    shift belongs to the day it starts on); a site without shifts starts at local midnight.
    Every history of the simulated plant is laid out in these days.
    """
    earliest = min((shift.start for shift in site.shifts), default=dt.time(0))
    return local_instant(site, day, earliest)


def production_day_of(site: Site, instant: dt.datetime) -> dt.date:
    """The local date of the production day that holds the instant."""
    day = instant.astimezone(site.tz).date()
    return day - _ONE_DAY if instant < production_day_start(site, day) else day


def production_days(site: Site, start: dt.datetime, end: dt.datetime) -> list[dt.date]:
    """The local dates of the production days that overlap [start, end), none if it is empty."""
    if end <= start:
        return []
    day = production_day_of(site, start)
    days = []
    while production_day_start(site, day) < end:
        days.append(day)
        day += _ONE_DAY
    return days


def _in_shift(site: Site, day: dt.date, shift_start: dt.time, wall_time: dt.time) -> dt.datetime:
    """The instant of a wall-clock time inside the shift starting at `shift_start` on `day`:
    a time before the shift's start is after midnight, on the next day."""
    return local_instant(site, day if wall_time >= shift_start else day + _ONE_DAY, wall_time)


def shift_windows(site: Site, start: dt.datetime, end: dt.datetime) -> list[ShiftWindow]:
    """The shift windows of the site that overlap [start, end), ordered by start.

    A shift starts on each local date whose weekday is in its `days`; it ends on the next local
    date when it crosses midnight. Local times go through zoneinfo, so a night shift over a DST
    change lasts 7 h or 9 h of real time. The plant model's `breaks` of a shift (none when the
    model has no such field) become the window's breaks.
    """
    windows = []
    day = (
        start.astimezone(site.tz).date() - _ONE_DAY
    )  # a night shift of the day before may reach in
    last_day = end.astimezone(site.tz).date()
    while day <= last_day:
        for shift in site.shifts:
            if day.isoweekday() not in shift.isodays:
                continue
            end_day = day + _ONE_DAY if shift.crosses_midnight else day
            window = ShiftWindow(
                site_id=site.id,
                shift_date=day,
                shift_name=shift.name,
                start=local_instant(site, day, shift.start),
                end=local_instant(site, end_day, shift.end),
                breaks=tuple(
                    (
                        _in_shift(site, day, shift.start, pause.start),
                        _in_shift(site, day, shift.start, pause.end),
                    )
                    for pause in getattr(shift, "breaks", ())
                ),
            )
            if window.start < end and window.end > start:
                windows.append(window)
        day += _ONE_DAY
    return sorted(windows, key=lambda window: (window.start, window.shift_name))
