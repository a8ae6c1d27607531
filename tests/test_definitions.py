"""The code location loads, and every job, schedule and asset resolves with its lineage."""

from __future__ import annotations

import pytest
from dagster import AssetKey

from oee_pipelines.definitions import defs


@pytest.fixture(scope="module")
def asset_graph(dbt_manifest):
    return defs.resolve_asset_graph()


def test_jobs_and_schedules_resolve(dbt_manifest) -> None:
    assert defs.resolve_job_def("oee_rollup_job")
    assert defs.resolve_job_def("demo_job")
    schedule = defs.resolve_schedule_def("hourly_oee_rollup")
    assert schedule.job_name == "oee_rollup_job"


def test_lineage_runs_from_plant_model_through_machine_data_to_rollups(asset_graph) -> None:
    def parents(*key: str) -> set[AssetKey]:
        return set(asset_graph.get(AssetKey(list(key))).parent_keys)

    def ancestors(*key: str) -> set[AssetKey]:
        found, todo = set(), [AssetKey(list(key))]
        while todo:
            new = set(asset_graph.get(todo.pop()).parent_keys) - found
            found |= new
            todo.extend(new)
        return found

    assert AssetKey(["curated", "machine"]) in parents("curated", "machine_state")
    # Through the dbt layers: curated source tables -> staging views -> intermediate -> marts.
    assert parents("staging", "stg_machine_data__machine_state") == {
        AssetKey(["curated", "machine_state"])
    }
    assert {
        AssetKey(["curated", "machine_state"]),
        AssetKey(["curated", "production_count"]),
        AssetKey(["curated", "machine"]),
        AssetKey(["curated", "shift_pattern"]),
        AssetKey(["intermediate", "int_machine_shift"]),
    } <= ancestors("curated", "oee_machine_shift")
    assert parents("curated", "oee_line_shift") == {AssetKey(["curated", "oee_machine_shift"])}
    assert AssetKey(["curated", "shift_pattern"]) in ancestors("curated", "shift")


def test_rollup_job_selects_plant_model_and_dbt_models_only(dbt_manifest) -> None:
    job = defs.resolve_job_def("oee_rollup_job")
    selected = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    assert "curated/oee_machine_shift" in selected
    assert "curated/site" in selected
    assert "curated/machine_state" not in selected
