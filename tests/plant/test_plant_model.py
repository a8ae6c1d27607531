"""The shipped plant model describes the demo plant; a bad file is refused with a clear error."""

from __future__ import annotations

from pathlib import Path

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


def _write_variant(tmp_path: Path, plant_model_path: Path, change) -> Path:
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
    ],
)
def test_invalid_model_names_the_file_and_the_field(
    tmp_path: Path, plant_model_path: Path, change, message: str
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
