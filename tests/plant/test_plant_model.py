"""The shipped plant model describes the demo plant; a bad file is refused with a clear error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from oee_pipelines.plant_model import PlantModel, PlantModelError, load_plant_model


def test_shipped_model_describes_the_demo_plant(plant: PlantModel) -> None:
    assert [site.timezone for site in plant.sites] == ["Europe/Berlin", "America/Chicago"]
    assert len(plant.lines()) == 3
    assert 8 <= len(plant.machines()) <= 12
    for site in plant.sites:
        assert len(site.shifts) == 3
        assert sum(shift.crosses_midnight for shift in site.shifts) == 1
    filler = plant.machine("BER-L1-FILLER")[2]
    assert filler.tag_map["opcua"]["good_count"].rollover == 2**32
    assert {line.id: line.output_machine for _, line in plant.lines()} == {
        "BER-L1": "BER-L1-PACKER",
        "BER-L2": "BER-L2-DEBURR",
        "CHI-L1": "CHI-L1-WASHER",
    }


Change = Callable[[dict[str, Any]], object]


def _shifts(site: int, *shifts: dict[str, Any]) -> Change:
    """A change that replaces the shifts of one site."""
    return lambda d: d["sites"][site].update(shifts=list(shifts))


def _machine(**fields: Any) -> Change:
    return lambda d: d["sites"][0]["lines"][0]["machines"][0].update(fields)


NIGHT = {"name": "night", "start": "22:00", "end": "06:00"}
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def _write_variant(tmp_path: Path, plant_model_path: Path, change: Change) -> Path:
    document = yaml.safe_load(plant_model_path.read_text())
    change(document)
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["sites"][0].update(timezone="Europe/Atlantis"), "sites.0.timezone"),
        (
            lambda d: d["sites"][0]["lines"][0]["machines"][0].update(ideal_cycle_time_s=0),
            "sites.0.lines.0.machines.0.ideal_cycle_time_s",
        ),
        (
            lambda d: d["sites"][1]["lines"][0].update(id="BER-L1"),
            "duplicate line id(s): BER-L1",
        ),
        (lambda d: d["sites"][0]["shifts"][0].update(days=["someday"]), "sites.0.shifts.0.days"),
        pytest.param(
            _shifts(0, NIGHT, {"name": "early", "start": "05:00", "end": "13:00"}),
            "sites.0.shifts: Value error, shifts 0 'night' and 1 'early' overlap: both run on mon "
            "at 05:00",
            id="night-overlaps-next-morning",
        ),
        pytest.param(
            _shifts(
                1,
                {"name": "first", "start": "07:00", "end": "15:00", "days": WEEKDAYS},
                {"name": "weekend", "start": "06:00", "end": "18:00", "days": ["sat"]},
                {"name": "third", "start": "23:00", "end": "07:00", "days": WEEKDAYS},
            ),
            "sites.1.shifts: Value error, shifts 1 'weekend' and 2 'third' overlap: both run on "
            "sat at 06:00",
            id="friday-night-overlaps-saturday",
        ),
        pytest.param(
            _shifts(
                0,
                {"name": "early", "start": "05:00", "end": "13:00", "days": ["mon"]},
                {**NIGHT, "days": ["sun"]},
            ),
            "sites.0.shifts: Value error, shifts 0 'early' and 1 'night' overlap: both run on "
            "mon at 05:00",
            id="sunday-night-overlaps-monday-across-the-week",
        ),
        pytest.param(
            _shifts(0, {"name": "all day", "start": "06:00", "end": "06:00"}),
            "sites.0.shifts.0.end: Value error, equals start 06:00",
            id="end-equals-start",
        ),
        pytest.param(
            _shifts(
                0,
                {"name": "early", "start": "06:00", "end": "14:00"},
                {"name": "early", "start": "14:00", "end": "22:00"},
            ),
            "sites.0.shifts: Value error, duplicate shift name(s): early",
            id="duplicate-shift-name",
        ),
        pytest.param(
            _shifts(0, {"name": "unscheduled", "start": "06:00", "end": "14:00"}),
            "sites.0.shifts.0.name: Value error, 'unscheduled' is the rollups' name for time "
            "outside every shift",
            id="shift-named-unscheduled",
        ),
        pytest.param(
            _shifts(0, {"name": "early", "start": "06:00+02:00", "end": "14:00"}),
            "sites.0.shifts.0.start: Value error, a shift time is the site's local wall-clock",
            id="shift-time-with-offset",
        ),
        pytest.param(
            _machine(ideal_cycle_time_s=float("nan")),
            "sites.0.lines.0.machines.0.ideal_cycle_time_s: Input should be a finite number",
            id="nan-cycle-time",
        ),
        pytest.param(
            _machine(ideal_cycle_time_s=float("inf")),
            "sites.0.lines.0.machines.0.ideal_cycle_time_s: Input should be a finite number",
            id="infinite-cycle-time",
        ),
        pytest.param(
            _machine(ideal_cycle_time_s=-1.5),
            "sites.0.lines.0.machines.0.ideal_cycle_time_s: Input should be greater than 0",
            id="negative-cycle-time",
        ),
        pytest.param(
            lambda d: d["sites"][0]["lines"][0].update(output_machine="BER-L2-DEBURR"),
            "sites.0.lines.0.output_machine: Value error, 'BER-L2-DEBURR' is not a machine of "
            "this line (BER-L1-FILLER, BER-L1-CAPPER, BER-L1-LABELER, BER-L1-PACKER)",
            id="output-machine-of-another-line",
        ),
    ],
)
def test_invalid_model_names_the_file_and_the_field(
    tmp_path: Path, plant_model_path: Path, change: Change, message: str
) -> None:
    path = _write_variant(tmp_path, plant_model_path, change)
    with pytest.raises(PlantModelError) as error:
        load_plant_model(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_unreadable_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text("sites: [unclosed")
    with pytest.raises(PlantModelError, match="cannot read plant model"):
        load_plant_model(path)


def test_shifts_that_only_touch_are_accepted(tmp_path: Path, plant_model_path: Path) -> None:
    """Back-to-back shifts, a Saturday night into a Sunday shift, and Sunday night into Monday."""
    change = _shifts(
        0,
        {"name": "early", "start": "06:00", "end": "14:00", "days": WEEKDAYS},
        {"name": "night", "start": "22:00", "end": "06:00", "days": ["sun", *WEEKDAYS]},
        {"name": "saturday night", "start": "18:00", "end": "06:00", "days": ["sat"]},
        {"name": "sunday", "start": "06:00", "end": "22:00", "days": ["sun"]},
    )
    site = load_plant_model(_write_variant(tmp_path, plant_model_path, change)).sites[0]
    assert [shift.name for shift in site.shifts] == ["early", "night", "saturday night", "sunday"]
