"""What the simulated PLCs show at an instant: every tag of one source's tag map, from the one
ground truth, for the OPC UA, Modbus and HTTP servers alike.

Signals (`state`, `good_count`, `reject_count`) are the PLC values of `plc_values` (the state as
its code, the counters since the work order's start, wrapped at the tag's rollover width);
telemetry tags are the values a plant historian records of them every `period`
(`RecordedHistory`), with their quality.
"""

from __future__ import annotations

import datetime as dt

from oee_pipelines.plant_model import TagMapping
from oee_pipelines.signals import SIGNALS

from .._plant import SimulatedPlant
from .historian import HistorianTag, RecordedHistory
from .mqtt import plc_values

Reading = tuple[int | float | str | None, str]
"""A value and its quality: good, uncertain or bad."""
QUALITIES = {
    "good": "good",
    "questionable": "uncertain",
    "substituted": "uncertain",
    "bad": "bad",
    "comm": "bad",
}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)


class PlcImage:
    """The tags of every machine that one source (`opcua`, `modbus`, `http`) reads."""

    def __init__(
        self, plant: SimulatedPlant, source: str, period: dt.timedelta = dt.timedelta(seconds=1)
    ) -> None:
        self.plant = plant
        self.period = period
        self.tag_maps: dict[str, dict[str, TagMapping]] = {
            machine.id: dict(machine.tag_map[source])
            for _, _, machine in plant.plant.machines()
            if source in machine.tag_map
        }
        self.history = RecordedHistory(
            plant,
            [
                HistorianTag(f"{machine_id}:{tag}", machine_id, tag, mapping.unit)
                for machine_id, tags in self.tag_maps.items()
                for tag, mapping in tags.items()
                if tag not in SIGNALS
            ],
            period,
        )

    def values(self, machine_id: str, at: dt.datetime) -> dict[str, Reading]:
        """Each tag of the machine as the PLC shows it at instant `at`."""
        tags = self.tag_maps[machine_id]
        signals = plc_values(self.plant, machine_id, at) if set(tags) & set(SIGNALS) else {}
        readings: dict[str, Reading] = {}
        for tag, mapping in tags.items():
            if tag in SIGNALS:
                value = signals[tag]
                if isinstance(value, int) and mapping.rollover:
                    value %= mapping.rollover
                readings[tag] = (value, "good")
            else:
                recorded = self.history.before(f"{machine_id}:{tag}", (at - _EPOCH) // _US + 1)
                readings[tag] = (
                    (None, "bad") if recorded is None else (recorded[1], QUALITIES[recorded[2]])
                )
        return readings
