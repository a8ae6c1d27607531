"""The plant model: ISA-95 hierarchy, shift calendars and tag maps, read from one YAML file.

A plain module (no Dagster), shared by the assets, the realtime service and the simulated plant,
so that all of them agree on which machines exist and where their signals come from.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from oee_pipelines.errors import PlantModelError
from oee_pipelines.vocabulary import MachineState

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = dt.timedelta(days=1)
_WEEK = 7 * _DAY
UNSCHEDULED = "unscheduled"
"""The shift name of the rollups' rows for running and counts outside every shift."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TagMapping(_Model):
    """Where one signal of a machine is read in one source system."""

    address: str = Field(min_length=1)
    unit: str | None = None
    rollover: int | None = Field(default=None, gt=0)


def _wall_clock(value: dt.time) -> dt.time:
    if value.tzinfo is not None:
        raise ValueError("a shift time is the site's local wall-clock time: drop the offset")
    return value


class Break(_Model):
    """A planned break inside a shift, in local wall-clock time (after midnight: the next day)."""

    start: dt.time
    end: dt.time

    _wall_clock = field_validator("start", "end")(_wall_clock)


class Shift(_Model):
    """A recurring shift in local wall-clock time; it ends on the next day when end < start."""

    name: str = Field(min_length=1)
    start: dt.time
    end: dt.time
    days: tuple[Weekday, ...] = WEEKDAYS
    breaks: tuple[Break, ...] = ()

    _wall_clock = field_validator("start", "end")(_wall_clock)

    @field_validator("name")
    @classmethod
    def _not_unscheduled(cls, name: str) -> str:
        """The rollups name time outside every shift `unscheduled` (contracts section 3): a
        shift of that name would merge with it."""
        if name == UNSCHEDULED:
            raise ValueError(f"{UNSCHEDULED!r} is the rollups' name for time outside every shift")
        return name

    @field_validator("end")
    @classmethod
    def _shorter_than_a_day(cls, end: dt.time, info: ValidationInfo) -> dt.time:
        if end == info.data.get("start"):
            raise ValueError(f"equals start {end:%H:%M}: a shift cannot last 24 h")
        return end

    @model_validator(mode="after")
    def _breaks_inside(self) -> Shift:
        """Each break lies inside the shift and no two overlap, or a second would count twice."""
        length = self.offset(self.end)
        spans = sorted(
            ((self.offset(b.start), self.offset(b.end), b) for b in self.breaks),
            key=lambda span: span[:2],
        )
        for start, end, one in spans:
            if not start < end <= length:
                raise ValueError(
                    f"break {one.start:%H:%M}-{one.end:%H:%M} is not inside the shift "
                    f"{self.start:%H:%M}-{self.end:%H:%M}"
                )
        for (_, end, one), (start, _, other) in itertools.pairwise(spans):
            if start < end:
                raise ValueError(
                    f"breaks {one.start:%H:%M}-{one.end:%H:%M} and "
                    f"{other.start:%H:%M}-{other.end:%H:%M} overlap"
                )
        return self

    def offset(self, time: dt.time) -> dt.timedelta:
        """How long after the shift's start a wall-clock time inside the shift comes."""
        return (_since_midnight(time) - _since_midnight(self.start)) % _DAY

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    @property
    def isodays(self) -> tuple[int, ...]:
        """The ISO weekday numbers (Monday = 1) on which the shift starts."""
        return tuple(WEEKDAYS.index(day) + 1 for day in self.days)

    def weekly_spans(self) -> list[tuple[dt.timedelta, dt.timedelta]]:
        """[start, end) of each occurrence in wall-clock time since Monday 00:00.

        A Sunday night shift ends after the week does; it reaches into the next Monday.
        """
        start = _since_midnight(self.start)
        end = _since_midnight(self.end) + (_DAY if self.crosses_midnight else dt.timedelta())
        return [(start + _DAY * (day - 1), end + _DAY * (day - 1)) for day in self.isodays]


def _since_midnight(time: dt.time) -> dt.timedelta:
    return dt.datetime.combine(dt.date.min, time) - dt.datetime.min


def _overlap(shifts: tuple[Shift, ...]) -> tuple[int, int, dt.timedelta] | None:
    """The first two shifts (by index) whose weekly occurrences overlap, and the week's first
    moment at which both run."""
    for (i, one), (j, other) in itertools.combinations(enumerate(shifts), 2):
        moments = [
            max(a_start, b_start + wrap) % _WEEK
            for (a_start, a_end), (b_start, b_end) in itertools.product(
                one.weekly_spans(), other.weekly_spans()
            )
            for wrap in (-_WEEK, dt.timedelta(), _WEEK)  # the week is a circle
            if a_start < b_end + wrap and b_start + wrap < a_end
        ]
        if moments:
            return i, j, min(moments)
    return None


class LossModel(_Model):
    """How a site maps states to losses (contracts.md section 3); the defaults are ISO 22400."""

    micro_stop_threshold_s: float = Field(default=0, ge=0, allow_inf_nan=False)
    changeover: Literal["availability", "performance"] = "availability"
    excluded_states: tuple[MachineState, ...] = ()
    excluded_reason_codes: tuple[str, ...] = ()
    breaks_are_planned_downtime: bool = True

    @property
    def fingerprint(self) -> str:
        """A short stable id of the mapping, recorded on every OEE row it produced: the first
        12 hex digits of the md5 of its canonical JSON (sorted keys, no spaces)."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.md5(canonical.encode(), usedforsecurity=False).hexdigest()[:12]


class Machine(_Model):
    id: str = Field(min_length=1)
    name: str
    ideal_cycle_time_s: float = Field(gt=0, allow_inf_nan=False)
    tag_map: dict[str, dict[str, TagMapping]] = Field(default_factory=dict)


class Line(_Model):
    """A line; `output_machine` names where a line of machines in series counts its parts."""

    id: str = Field(min_length=1)
    name: str
    machines: tuple[Machine, ...] = Field(min_length=1)
    output_machine: str | None = None

    @field_validator("output_machine")
    @classmethod
    def _one_of_the_machines(cls, output: str | None, info: ValidationInfo) -> str | None:
        ids = [machine.id for machine in info.data.get("machines", ())]
        if output is not None and ids and output not in ids:
            raise ValueError(f"{output!r} is not a machine of this line ({', '.join(ids)})")
        return output


class Site(_Model):
    id: str = Field(min_length=1)
    name: str
    timezone: str
    loss_model: LossModel = LossModel()
    shifts: tuple[Shift, ...]
    lines: tuple[Line, ...] = Field(min_length=1)

    @field_validator("shifts")
    @classmethod
    def _distinct_shifts(cls, shifts: tuple[Shift, ...]) -> tuple[Shift, ...]:
        """Each moment of the week is in at most one shift, or parts would be counted twice."""
        names = [shift.name for shift in shifts]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate shift name(s): {', '.join(duplicates)}")
        overlap = _overlap(shifts)
        if overlap:
            i, j, at = overlap
            raise ValueError(
                f"shifts {i} {shifts[i].name!r} and {j} {shifts[j].name!r} overlap: both run on "
                f"{WEEKDAYS[at.days]} at {dt.datetime.min + at:%H:%M} (local time)"
            )
        return shifts

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class PlantModel(_Model):
    sites: tuple[Site, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> PlantModel:
        for kind, ids in (
            ("site", [s.id for s in self.sites]),
            ("line", [line.id for _, line in self.lines()]),
            ("machine", [m.id for _, _, m in self.machines()]),
        ):
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise ValueError(f"duplicate {kind} id(s): {', '.join(duplicates)}")
        return self

    def lines(self) -> list[tuple[Site, Line]]:
        return [(site, line) for site in self.sites for line in site.lines]

    def machines(self) -> list[tuple[Site, Line, Machine]]:
        return [(site, line, m) for site, line in self.lines() for m in line.machines]

    def site(self, site_id: str) -> Site:
        return next(s for s in self.sites if s.id == site_id)

    def machine(self, machine_id: str) -> tuple[Site, Line, Machine]:
        for site, line, machine in self.machines():
            if machine.id == machine_id:
                return site, line, machine
        raise KeyError(f"unknown machine {machine_id!r}")


def load_plant_model(path: str | Path) -> PlantModel:
    """Read and validate a plant model file; errors name the file and each bad field."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PlantModelError(f"{path}: cannot read plant model: {exc}") from exc
    try:
        return PlantModel.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(top level)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise PlantModelError(f"{path}: invalid plant model: {problems}") from exc
